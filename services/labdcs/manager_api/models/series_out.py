from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="SeriesOut")


@_attrs_define
class SeriesOut:
    """
    Attributes:
        current (list[float | None]):
        t (list[int]): ms since the epoch
        temperature (list[float | None]):
        voltage (list[float | None]):
    """

    current: list[float | None]
    t: list[int]
    temperature: list[float | None]
    voltage: list[float | None]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        current = []
        for current_item_data in self.current:
            current_item: float | None
            current_item = current_item_data
            current.append(current_item)

        t = self.t

        temperature = []
        for temperature_item_data in self.temperature:
            temperature_item: float | None
            temperature_item = temperature_item_data
            temperature.append(temperature_item)

        voltage = []
        for voltage_item_data in self.voltage:
            voltage_item: float | None
            voltage_item = voltage_item_data
            voltage.append(voltage_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "current": current,
                "t": t,
                "temperature": temperature,
                "voltage": voltage,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        current = []
        _current = d.pop("current")
        for current_item_data in _current:

            def _parse_current_item(data: object) -> float | None:
                if data is None:
                    return data
                return cast(float | None, data)

            current_item = _parse_current_item(current_item_data)

            current.append(current_item)

        t = cast(list[int], d.pop("t"))

        temperature = []
        _temperature = d.pop("temperature")
        for temperature_item_data in _temperature:

            def _parse_temperature_item(data: object) -> float | None:
                if data is None:
                    return data
                return cast(float | None, data)

            temperature_item = _parse_temperature_item(temperature_item_data)

            temperature.append(temperature_item)

        voltage = []
        _voltage = d.pop("voltage")
        for voltage_item_data in _voltage:

            def _parse_voltage_item(data: object) -> float | None:
                if data is None:
                    return data
                return cast(float | None, data)

            voltage_item = _parse_voltage_item(voltage_item_data)

            voltage.append(voltage_item)

        series_out = cls(
            current=current,
            t=t,
            temperature=temperature,
            voltage=voltage,
        )

        series_out.additional_properties = d
        return series_out

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
