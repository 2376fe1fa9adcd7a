from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="LabEvent")


@_attrs_define
class LabEvent:
    """
    Attributes:
        device (str):
        kind (str): alarm, offline or online
        name (str): The alarm (or the device for availability)
        text (str):
        ts (int): ms
        severity (None | str | Unset):
    """

    device: str
    kind: str
    name: str
    text: str
    ts: int
    severity: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        device = self.device

        kind = self.kind

        name = self.name

        text = self.text

        ts = self.ts

        severity: None | str | Unset
        if isinstance(self.severity, Unset):
            severity = UNSET
        else:
            severity = self.severity

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "device": device,
                "kind": kind,
                "name": name,
                "text": text,
                "ts": ts,
            }
        )
        if severity is not UNSET:
            field_dict["severity"] = severity

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        device = d.pop("device")

        kind = d.pop("kind")

        name = d.pop("name")

        text = d.pop("text")

        ts = d.pop("ts")

        def _parse_severity(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        severity = _parse_severity(d.pop("severity", UNSET))

        lab_event = cls(
            device=device,
            kind=kind,
            name=name,
            text=text,
            ts=ts,
            severity=severity,
        )

        lab_event.additional_properties = d
        return lab_event

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
