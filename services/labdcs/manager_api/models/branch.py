from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.branch_direction import BranchDirection

T = TypeVar("T", bound="Branch")


@_attrs_define
class Branch:
    """Charge or discharge of one cycle: capacity (Ah from the branch's start) and voltage, and dQ/dV
    (Ah/V) at the voltage bins' centres.

        Attributes:
            capacity (list[float]):
            direction (BranchDirection):
            dqdv (list[float]):
            dqdv_voltage (list[float]):
            voltage (list[float]):
    """

    capacity: list[float]
    direction: BranchDirection
    dqdv: list[float]
    dqdv_voltage: list[float]
    voltage: list[float]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        capacity = self.capacity

        direction = self.direction.value

        dqdv = self.dqdv

        dqdv_voltage = self.dqdv_voltage

        voltage = self.voltage

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "capacity": capacity,
                "direction": direction,
                "dqdv": dqdv,
                "dqdv_voltage": dqdv_voltage,
                "voltage": voltage,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        capacity = cast(list[float], d.pop("capacity"))

        direction = BranchDirection(d.pop("direction"))

        dqdv = cast(list[float], d.pop("dqdv"))

        dqdv_voltage = cast(list[float], d.pop("dqdv_voltage"))

        voltage = cast(list[float], d.pop("voltage"))

        branch = cls(
            capacity=capacity,
            direction=direction,
            dqdv=dqdv,
            dqdv_voltage=dqdv_voltage,
            voltage=voltage,
        )

        branch.additional_properties = d
        return branch

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
