from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="AlarmView")


@_attrs_define
class AlarmView:
    """
    Attributes:
        acknowledged (bool):
        active (bool):
        alarm (str):
        device (str):
        message (str):
        severity (str):
    """

    acknowledged: bool
    active: bool
    alarm: str
    device: str
    message: str
    severity: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        acknowledged = self.acknowledged

        active = self.active

        alarm = self.alarm

        device = self.device

        message = self.message

        severity = self.severity

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "acknowledged": acknowledged,
                "active": active,
                "alarm": alarm,
                "device": device,
                "message": message,
                "severity": severity,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        acknowledged = d.pop("acknowledged")

        active = d.pop("active")

        alarm = d.pop("alarm")

        device = d.pop("device")

        message = d.pop("message")

        severity = d.pop("severity")

        alarm_view = cls(
            acknowledged=acknowledged,
            active=active,
            alarm=alarm,
            device=device,
            message=message,
            severity=severity,
        )

        alarm_view.additional_properties = d
        return alarm_view

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
