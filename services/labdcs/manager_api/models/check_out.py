from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.problem import Problem


T = TypeVar("T", bound="CheckOut")


@_attrs_define
class CheckOut:
    """
    Attributes:
        ok (bool):
        problems (list[Problem]):
        cycles (int | None | Unset):
        estimate_s (float | None | Unset):
    """

    ok: bool
    problems: list[Problem]
    cycles: int | None | Unset = UNSET
    estimate_s: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        ok = self.ok

        problems = []
        for problems_item_data in self.problems:
            problems_item = problems_item_data.to_dict()
            problems.append(problems_item)

        cycles: int | None | Unset
        if isinstance(self.cycles, Unset):
            cycles = UNSET
        else:
            cycles = self.cycles

        estimate_s: float | None | Unset
        if isinstance(self.estimate_s, Unset):
            estimate_s = UNSET
        else:
            estimate_s = self.estimate_s

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "ok": ok,
                "problems": problems,
            }
        )
        if cycles is not UNSET:
            field_dict["cycles"] = cycles
        if estimate_s is not UNSET:
            field_dict["estimate_s"] = estimate_s

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.problem import Problem

        d = dict(src_dict)
        ok = d.pop("ok")

        problems = []
        _problems = d.pop("problems")
        for problems_item_data in _problems:
            problems_item = Problem.from_dict(problems_item_data)

            problems.append(problems_item)

        def _parse_cycles(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        cycles = _parse_cycles(d.pop("cycles", UNSET))

        def _parse_estimate_s(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        estimate_s = _parse_estimate_s(d.pop("estimate_s", UNSET))

        check_out = cls(
            ok=ok,
            problems=problems,
            cycles=cycles,
            estimate_s=estimate_s,
        )

        check_out.additional_properties = d
        return check_out

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
