from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.sensor_view_values import SensorViewValues


T = TypeVar("T", bound="SensorView")


@_attrs_define
class SensorView:
    """
    Attributes:
        sensor (str): device/channel
        status (str):
        ts (int):
        values (SensorViewValues):
    """

    sensor: str
    status: str
    ts: int
    values: SensorViewValues
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        sensor = self.sensor

        status = self.status

        ts = self.ts

        values = self.values.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "sensor": sensor,
                "status": status,
                "ts": ts,
                "values": values,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.sensor_view_values import SensorViewValues

        d = dict(src_dict)
        sensor = d.pop("sensor")

        status = d.pop("status")

        ts = d.pop("ts")

        values = SensorViewValues.from_dict(d.pop("values"))

        sensor_view = cls(
            sensor=sensor,
            status=status,
            ts=ts,
            values=values,
        )

        sensor_view.additional_properties = d
        return sensor_view

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
