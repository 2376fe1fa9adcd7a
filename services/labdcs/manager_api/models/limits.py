from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="Limits")


@_attrs_define
class Limits:
    """Operating limits; None: no limit from this side.

    Attributes:
        i_charge_max (float | None | Unset): A
        i_discharge_max (float | None | Unset): A (a magnitude)
        t_max_c (float | None | Unset): degC
        t_min_c (float | None | Unset): degC
        v_max (float | None | Unset): V; charge cut-off
        v_min (float | None | Unset): V; discharge cut-off
    """

    i_charge_max: float | None | Unset = UNSET
    i_discharge_max: float | None | Unset = UNSET
    t_max_c: float | None | Unset = UNSET
    t_min_c: float | None | Unset = UNSET
    v_max: float | None | Unset = UNSET
    v_min: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        i_charge_max: float | None | Unset
        if isinstance(self.i_charge_max, Unset):
            i_charge_max = UNSET
        else:
            i_charge_max = self.i_charge_max

        i_discharge_max: float | None | Unset
        if isinstance(self.i_discharge_max, Unset):
            i_discharge_max = UNSET
        else:
            i_discharge_max = self.i_discharge_max

        t_max_c: float | None | Unset
        if isinstance(self.t_max_c, Unset):
            t_max_c = UNSET
        else:
            t_max_c = self.t_max_c

        t_min_c: float | None | Unset
        if isinstance(self.t_min_c, Unset):
            t_min_c = UNSET
        else:
            t_min_c = self.t_min_c

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

        field_dict.update({})
        if i_charge_max is not UNSET:
            field_dict["i_charge_max"] = i_charge_max
        if i_discharge_max is not UNSET:
            field_dict["i_discharge_max"] = i_discharge_max
        if t_max_c is not UNSET:
            field_dict["t_max_c"] = t_max_c
        if t_min_c is not UNSET:
            field_dict["t_min_c"] = t_min_c
        if v_max is not UNSET:
            field_dict["v_max"] = v_max
        if v_min is not UNSET:
            field_dict["v_min"] = v_min

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_i_charge_max(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        i_charge_max = _parse_i_charge_max(d.pop("i_charge_max", UNSET))

        def _parse_i_discharge_max(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        i_discharge_max = _parse_i_discharge_max(d.pop("i_discharge_max", UNSET))

        def _parse_t_max_c(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        t_max_c = _parse_t_max_c(d.pop("t_max_c", UNSET))

        def _parse_t_min_c(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        t_min_c = _parse_t_min_c(d.pop("t_min_c", UNSET))

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

        limits = cls(
            i_charge_max=i_charge_max,
            i_discharge_max=i_discharge_max,
            t_max_c=t_max_c,
            t_min_c=t_min_c,
            v_max=v_max,
            v_min=v_min,
        )

        return limits
