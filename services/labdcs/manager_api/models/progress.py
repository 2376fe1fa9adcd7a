from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="Progress")


@_attrs_define
class Progress:
    """Where a run is, from the station's latest state.

    Attributes:
        charge_capacity (float | Unset):  Default: 0.0.
        current (float | None | Unset):
        cycle_index (int | Unset):  Default: 0.
        discharge_capacity (float | Unset):  Default: 0.0.
        step_index (int | Unset):  Default: 0.
        step_type (None | str | Unset):
        temperature (float | None | Unset):
        test_time (float | Unset):  Default: 0.0.
        ts (int | None | Unset):
        voltage (float | None | Unset):
    """

    charge_capacity: float | Unset = 0.0
    current: float | None | Unset = UNSET
    cycle_index: int | Unset = 0
    discharge_capacity: float | Unset = 0.0
    step_index: int | Unset = 0
    step_type: None | str | Unset = UNSET
    temperature: float | None | Unset = UNSET
    test_time: float | Unset = 0.0
    ts: int | None | Unset = UNSET
    voltage: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        charge_capacity = self.charge_capacity

        current: float | None | Unset
        if isinstance(self.current, Unset):
            current = UNSET
        else:
            current = self.current

        cycle_index = self.cycle_index

        discharge_capacity = self.discharge_capacity

        step_index = self.step_index

        step_type: None | str | Unset
        if isinstance(self.step_type, Unset):
            step_type = UNSET
        else:
            step_type = self.step_type

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

        field_dict.update({})
        if charge_capacity is not UNSET:
            field_dict["charge_capacity"] = charge_capacity
        if current is not UNSET:
            field_dict["current"] = current
        if cycle_index is not UNSET:
            field_dict["cycle_index"] = cycle_index
        if discharge_capacity is not UNSET:
            field_dict["discharge_capacity"] = discharge_capacity
        if step_index is not UNSET:
            field_dict["step_index"] = step_index
        if step_type is not UNSET:
            field_dict["step_type"] = step_type
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
        d = dict(src_dict)
        charge_capacity = d.pop("charge_capacity", UNSET)

        def _parse_current(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        current = _parse_current(d.pop("current", UNSET))

        cycle_index = d.pop("cycle_index", UNSET)

        discharge_capacity = d.pop("discharge_capacity", UNSET)

        step_index = d.pop("step_index", UNSET)

        def _parse_step_type(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        step_type = _parse_step_type(d.pop("step_type", UNSET))

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

        progress = cls(
            charge_capacity=charge_capacity,
            current=current,
            cycle_index=cycle_index,
            discharge_capacity=discharge_capacity,
            step_index=step_index,
            step_type=step_type,
            temperature=temperature,
            test_time=test_time,
            ts=ts,
            voltage=voltage,
        )

        return progress
