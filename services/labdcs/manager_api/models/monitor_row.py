from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.alarm_view import AlarmView
    from ..models.rule_view import RuleView
    from ..models.sensor_view import SensorView


T = TypeVar("T", bound="MonitorRow")


@_attrs_define
class MonitorRow:
    """One station channel as the monitor shows it (JSON of the stream's events).

    Attributes:
        channel (str):
        key (str): station/channel
        station (str):
        alarms (list[AlarmView] | Unset):
        cell (None | str | Unset):
        charge_ah (float | Unset):  Default: 0.0.
        current (float | None | Unset):
        cycle (int | Unset):  Default: 0.
        discharge_ah (float | Unset):  Default: 0.0.
        end (None | str | Unset): The end condition expected first
        end_eta_s (float | None | Unset): s until it, from the latest trend
        end_reason (None | str | Unset):
        environment (list[SensorView] | Unset):
        experiment (None | str | Unset):
        fault (None | str | Unset):
        interlocks (list[RuleView] | Unset):
        label (str | Unset):  Default: ''.
        mode (None | str | Unset):
        name (None | str | Unset):
        online (bool | Unset):  Default: False.
        operator (None | str | Unset):
        power (float | None | Unset):
        protocol (None | str | Unset):
        received (int | None | Unset): When the manager heard it, ms
        run_state (None | str | Unset):
        step (None | str | Unset): The step as the protocol's text form writes it
        step_index (int | Unset):  Default: 0.
        step_time (float | Unset):  Default: 0.0.
        team (None | str | Unset): The team the running experiment belongs to
        temperature (float | None | Unset):
        test_time (float | Unset):  Default: 0.0.
        ts (int | None | Unset): The state's time on the station clock, ms
        voltage (float | None | Unset):
    """

    channel: str
    key: str
    station: str
    alarms: list[AlarmView] | Unset = UNSET
    cell: None | str | Unset = UNSET
    charge_ah: float | Unset = 0.0
    current: float | None | Unset = UNSET
    cycle: int | Unset = 0
    discharge_ah: float | Unset = 0.0
    end: None | str | Unset = UNSET
    end_eta_s: float | None | Unset = UNSET
    end_reason: None | str | Unset = UNSET
    environment: list[SensorView] | Unset = UNSET
    experiment: None | str | Unset = UNSET
    fault: None | str | Unset = UNSET
    interlocks: list[RuleView] | Unset = UNSET
    label: str | Unset = ""
    mode: None | str | Unset = UNSET
    name: None | str | Unset = UNSET
    online: bool | Unset = False
    operator: None | str | Unset = UNSET
    power: float | None | Unset = UNSET
    protocol: None | str | Unset = UNSET
    received: int | None | Unset = UNSET
    run_state: None | str | Unset = UNSET
    step: None | str | Unset = UNSET
    step_index: int | Unset = 0
    step_time: float | Unset = 0.0
    team: None | str | Unset = UNSET
    temperature: float | None | Unset = UNSET
    test_time: float | Unset = 0.0
    ts: int | None | Unset = UNSET
    voltage: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        channel = self.channel

        key = self.key

        station = self.station

        alarms: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.alarms, Unset):
            alarms = []
            for alarms_item_data in self.alarms:
                alarms_item = alarms_item_data.to_dict()
                alarms.append(alarms_item)

        cell: None | str | Unset
        if isinstance(self.cell, Unset):
            cell = UNSET
        else:
            cell = self.cell

        charge_ah = self.charge_ah

        current: float | None | Unset
        if isinstance(self.current, Unset):
            current = UNSET
        else:
            current = self.current

        cycle = self.cycle

        discharge_ah = self.discharge_ah

        end: None | str | Unset
        if isinstance(self.end, Unset):
            end = UNSET
        else:
            end = self.end

        end_eta_s: float | None | Unset
        if isinstance(self.end_eta_s, Unset):
            end_eta_s = UNSET
        else:
            end_eta_s = self.end_eta_s

        end_reason: None | str | Unset
        if isinstance(self.end_reason, Unset):
            end_reason = UNSET
        else:
            end_reason = self.end_reason

        environment: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.environment, Unset):
            environment = []
            for environment_item_data in self.environment:
                environment_item = environment_item_data.to_dict()
                environment.append(environment_item)

        experiment: None | str | Unset
        if isinstance(self.experiment, Unset):
            experiment = UNSET
        else:
            experiment = self.experiment

        fault: None | str | Unset
        if isinstance(self.fault, Unset):
            fault = UNSET
        else:
            fault = self.fault

        interlocks: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.interlocks, Unset):
            interlocks = []
            for interlocks_item_data in self.interlocks:
                interlocks_item = interlocks_item_data.to_dict()
                interlocks.append(interlocks_item)

        label = self.label

        mode: None | str | Unset
        if isinstance(self.mode, Unset):
            mode = UNSET
        else:
            mode = self.mode

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        online = self.online

        operator: None | str | Unset
        if isinstance(self.operator, Unset):
            operator = UNSET
        else:
            operator = self.operator

        power: float | None | Unset
        if isinstance(self.power, Unset):
            power = UNSET
        else:
            power = self.power

        protocol: None | str | Unset
        if isinstance(self.protocol, Unset):
            protocol = UNSET
        else:
            protocol = self.protocol

        received: int | None | Unset
        if isinstance(self.received, Unset):
            received = UNSET
        else:
            received = self.received

        run_state: None | str | Unset
        if isinstance(self.run_state, Unset):
            run_state = UNSET
        else:
            run_state = self.run_state

        step: None | str | Unset
        if isinstance(self.step, Unset):
            step = UNSET
        else:
            step = self.step

        step_index = self.step_index

        step_time = self.step_time

        team: None | str | Unset
        if isinstance(self.team, Unset):
            team = UNSET
        else:
            team = self.team

        temperature: float | None | Unset
        if isinstance(self.temperature, Unset):
            temperature = UNSET
        else:
            temperature = self.temperature

        test_time = self.test_time

        ts: int | None | Unset
        if isinstance(self.ts, Unset):
            ts = UNSET
        else:
            ts = self.ts

        voltage: float | None | Unset
        if isinstance(self.voltage, Unset):
            voltage = UNSET
        else:
            voltage = self.voltage

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "channel": channel,
                "key": key,
                "station": station,
            }
        )
        if alarms is not UNSET:
            field_dict["alarms"] = alarms
        if cell is not UNSET:
            field_dict["cell"] = cell
        if charge_ah is not UNSET:
            field_dict["charge_ah"] = charge_ah
        if current is not UNSET:
            field_dict["current"] = current
        if cycle is not UNSET:
            field_dict["cycle"] = cycle
        if discharge_ah is not UNSET:
            field_dict["discharge_ah"] = discharge_ah
        if end is not UNSET:
            field_dict["end"] = end
        if end_eta_s is not UNSET:
            field_dict["end_eta_s"] = end_eta_s
        if end_reason is not UNSET:
            field_dict["end_reason"] = end_reason
        if environment is not UNSET:
            field_dict["environment"] = environment
        if experiment is not UNSET:
            field_dict["experiment"] = experiment
        if fault is not UNSET:
            field_dict["fault"] = fault
        if interlocks is not UNSET:
            field_dict["interlocks"] = interlocks
        if label is not UNSET:
            field_dict["label"] = label
        if mode is not UNSET:
            field_dict["mode"] = mode
        if name is not UNSET:
            field_dict["name"] = name
        if online is not UNSET:
            field_dict["online"] = online
        if operator is not UNSET:
            field_dict["operator"] = operator
        if power is not UNSET:
            field_dict["power"] = power
        if protocol is not UNSET:
            field_dict["protocol"] = protocol
        if received is not UNSET:
            field_dict["received"] = received
        if run_state is not UNSET:
            field_dict["run_state"] = run_state
        if step is not UNSET:
            field_dict["step"] = step
        if step_index is not UNSET:
            field_dict["step_index"] = step_index
        if step_time is not UNSET:
            field_dict["step_time"] = step_time
        if team is not UNSET:
            field_dict["team"] = team
        if temperature is not UNSET:
            field_dict["temperature"] = temperature
        if test_time is not UNSET:
            field_dict["test_time"] = test_time
        if ts is not UNSET:
            field_dict["ts"] = ts
        if voltage is not UNSET:
            field_dict["voltage"] = voltage

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.alarm_view import AlarmView
        from ..models.rule_view import RuleView
        from ..models.sensor_view import SensorView

        d = dict(src_dict)
        channel = d.pop("channel")

        key = d.pop("key")

        station = d.pop("station")

        _alarms = d.pop("alarms", UNSET)
        alarms: list[AlarmView] | Unset = UNSET
        if _alarms is not UNSET:
            alarms = []
            for alarms_item_data in _alarms:
                alarms_item = AlarmView.from_dict(alarms_item_data)

                alarms.append(alarms_item)

        def _parse_cell(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        cell = _parse_cell(d.pop("cell", UNSET))

        charge_ah = d.pop("charge_ah", UNSET)

        def _parse_current(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        current = _parse_current(d.pop("current", UNSET))

        cycle = d.pop("cycle", UNSET)

        discharge_ah = d.pop("discharge_ah", UNSET)

        def _parse_end(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        end = _parse_end(d.pop("end", UNSET))

        def _parse_end_eta_s(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        end_eta_s = _parse_end_eta_s(d.pop("end_eta_s", UNSET))

        def _parse_end_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        end_reason = _parse_end_reason(d.pop("end_reason", UNSET))

        _environment = d.pop("environment", UNSET)
        environment: list[SensorView] | Unset = UNSET
        if _environment is not UNSET:
            environment = []
            for environment_item_data in _environment:
                environment_item = SensorView.from_dict(environment_item_data)

                environment.append(environment_item)

        def _parse_experiment(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        experiment = _parse_experiment(d.pop("experiment", UNSET))

        def _parse_fault(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        fault = _parse_fault(d.pop("fault", UNSET))

        _interlocks = d.pop("interlocks", UNSET)
        interlocks: list[RuleView] | Unset = UNSET
        if _interlocks is not UNSET:
            interlocks = []
            for interlocks_item_data in _interlocks:
                interlocks_item = RuleView.from_dict(interlocks_item_data)

                interlocks.append(interlocks_item)

        label = d.pop("label", UNSET)

        def _parse_mode(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        mode = _parse_mode(d.pop("mode", UNSET))

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

        online = d.pop("online", UNSET)

        def _parse_operator(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        operator = _parse_operator(d.pop("operator", UNSET))

        def _parse_power(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        power = _parse_power(d.pop("power", UNSET))

        def _parse_protocol(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        protocol = _parse_protocol(d.pop("protocol", UNSET))

        def _parse_received(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        received = _parse_received(d.pop("received", UNSET))

        def _parse_run_state(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        run_state = _parse_run_state(d.pop("run_state", UNSET))

        def _parse_step(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        step = _parse_step(d.pop("step", UNSET))

        step_index = d.pop("step_index", UNSET)

        step_time = d.pop("step_time", UNSET)

        def _parse_team(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        team = _parse_team(d.pop("team", UNSET))

        def _parse_temperature(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        temperature = _parse_temperature(d.pop("temperature", UNSET))

        test_time = d.pop("test_time", UNSET)

        def _parse_ts(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        ts = _parse_ts(d.pop("ts", UNSET))

        def _parse_voltage(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        voltage = _parse_voltage(d.pop("voltage", UNSET))

        monitor_row = cls(
            channel=channel,
            key=key,
            station=station,
            alarms=alarms,
            cell=cell,
            charge_ah=charge_ah,
            current=current,
            cycle=cycle,
            discharge_ah=discharge_ah,
            end=end,
            end_eta_s=end_eta_s,
            end_reason=end_reason,
            environment=environment,
            experiment=experiment,
            fault=fault,
            interlocks=interlocks,
            label=label,
            mode=mode,
            name=name,
            online=online,
            operator=operator,
            power=power,
            protocol=protocol,
            received=received,
            run_state=run_state,
            step=step,
            step_index=step_index,
            step_time=step_time,
            team=team,
            temperature=temperature,
            test_time=test_time,
            ts=ts,
            voltage=voltage,
        )

        monitor_row.additional_properties = d
        return monitor_row

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
