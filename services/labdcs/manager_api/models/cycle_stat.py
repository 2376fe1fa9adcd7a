from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="CycleStat")


@_attrs_define
class CycleStat:
    """One cycle's statistics (from the station's ``stats`` messages or computed on import).

    Attributes:
        charge_capacity (float):
        charge_energy (float):
        cycle_index (int):
        discharge_capacity (float):
        discharge_energy (float):
        duration (float):
        end (int):
        experiment (str):
        id (str): <experiment>:<cycle>
        start (int):
        coulombic_efficiency (float | None | Unset):
        dc_resistance (float | None | Unset):
        energy_efficiency (float | None | Unset):
        schema_version (int | Unset):  Default: 2.
        t_max (float | None | Unset):
        v_max (float | None | Unset):
        v_min (float | None | Unset):
    """

    charge_capacity: float
    charge_energy: float
    cycle_index: int
    discharge_capacity: float
    discharge_energy: float
    duration: float
    end: int
    experiment: str
    id: str
    start: int
    coulombic_efficiency: float | None | Unset = UNSET
    dc_resistance: float | None | Unset = UNSET
    energy_efficiency: float | None | Unset = UNSET
    schema_version: int | Unset = 2
    t_max: float | None | Unset = UNSET
    v_max: float | None | Unset = UNSET
    v_min: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        charge_capacity = self.charge_capacity

        charge_energy = self.charge_energy

        cycle_index = self.cycle_index

        discharge_capacity = self.discharge_capacity

        discharge_energy = self.discharge_energy

        duration = self.duration

        end = self.end

        experiment = self.experiment

        id = self.id

        start = self.start

        coulombic_efficiency: float | None | Unset
        if isinstance(self.coulombic_efficiency, Unset):
            coulombic_efficiency = UNSET
        else:
            coulombic_efficiency = self.coulombic_efficiency

        dc_resistance: float | None | Unset
        if isinstance(self.dc_resistance, Unset):
            dc_resistance = UNSET
        else:
            dc_resistance = self.dc_resistance

        energy_efficiency: float | None | Unset
        if isinstance(self.energy_efficiency, Unset):
            energy_efficiency = UNSET
        else:
            energy_efficiency = self.energy_efficiency

        schema_version = self.schema_version

        t_max: float | None | Unset
        if isinstance(self.t_max, Unset):
            t_max = UNSET
        else:
            t_max = self.t_max

        v_max: float | None | Unset
        if isinstance(self.v_max, Unset):
            v_max = UNSET
        else:
            v_max = self.v_max

        v_min: float | None | Unset
        if isinstance(self.v_min, Unset):
            v_min = UNSET
        else:
            v_min = self.v_min

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "charge_capacity": charge_capacity,
                "charge_energy": charge_energy,
                "cycle_index": cycle_index,
                "discharge_capacity": discharge_capacity,
                "discharge_energy": discharge_energy,
                "duration": duration,
                "end": end,
                "experiment": experiment,
                "id": id,
                "start": start,
            }
        )
        if coulombic_efficiency is not UNSET:
            field_dict["coulombic_efficiency"] = coulombic_efficiency
        if dc_resistance is not UNSET:
            field_dict["dc_resistance"] = dc_resistance
        if energy_efficiency is not UNSET:
            field_dict["energy_efficiency"] = energy_efficiency
        if schema_version is not UNSET:
            field_dict["schema_version"] = schema_version
        if t_max is not UNSET:
            field_dict["t_max"] = t_max
        if v_max is not UNSET:
            field_dict["v_max"] = v_max
        if v_min is not UNSET:
            field_dict["v_min"] = v_min

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        charge_capacity = d.pop("charge_capacity")

        charge_energy = d.pop("charge_energy")

        cycle_index = d.pop("cycle_index")

        discharge_capacity = d.pop("discharge_capacity")

        discharge_energy = d.pop("discharge_energy")

        duration = d.pop("duration")

        end = d.pop("end")

        experiment = d.pop("experiment")

        id = d.pop("id")

        start = d.pop("start")

        def _parse_coulombic_efficiency(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        coulombic_efficiency = _parse_coulombic_efficiency(d.pop("coulombic_efficiency", UNSET))

        def _parse_dc_resistance(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        dc_resistance = _parse_dc_resistance(d.pop("dc_resistance", UNSET))

        def _parse_energy_efficiency(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        energy_efficiency = _parse_energy_efficiency(d.pop("energy_efficiency", UNSET))

        schema_version = d.pop("schema_version", UNSET)

        def _parse_t_max(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        t_max = _parse_t_max(d.pop("t_max", UNSET))

        def _parse_v_max(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        v_max = _parse_v_max(d.pop("v_max", UNSET))

        def _parse_v_min(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        v_min = _parse_v_min(d.pop("v_min", UNSET))

        cycle_stat = cls(
            charge_capacity=charge_capacity,
            charge_energy=charge_energy,
            cycle_index=cycle_index,
            discharge_capacity=discharge_capacity,
            discharge_energy=discharge_energy,
            duration=duration,
            end=end,
            experiment=experiment,
            id=id,
            start=start,
            coulombic_efficiency=coulombic_efficiency,
            dc_resistance=dc_resistance,
            energy_efficiency=energy_efficiency,
            schema_version=schema_version,
            t_max=t_max,
            v_max=v_max,
            v_min=v_min,
        )

        return cycle_stat
