from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="BatteryCell")


@_attrs_define
class BatteryCell:
    """
    Attributes:
        id (int):
        name (str):
        anode_chemistry (None | str | Unset):
        cathode_chemistry (None | str | Unset):
        datasheet (None | str | Unset):
        form_factor (None | str | Unset):
        manufacturer (None | str | Unset):
        nominal_capacity (float | None | Unset): Ah
        nominal_cell_weight (float | None | Unset):
    """

    id: int
    name: str
    anode_chemistry: None | str | Unset = UNSET
    cathode_chemistry: None | str | Unset = UNSET
    datasheet: None | str | Unset = UNSET
    form_factor: None | str | Unset = UNSET
    manufacturer: None | str | Unset = UNSET
    nominal_capacity: float | None | Unset = UNSET
    nominal_cell_weight: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        anode_chemistry: None | str | Unset
        if isinstance(self.anode_chemistry, Unset):
            anode_chemistry = UNSET
        else:
            anode_chemistry = self.anode_chemistry

        cathode_chemistry: None | str | Unset
        if isinstance(self.cathode_chemistry, Unset):
            cathode_chemistry = UNSET
        else:
            cathode_chemistry = self.cathode_chemistry

        datasheet: None | str | Unset
        if isinstance(self.datasheet, Unset):
            datasheet = UNSET
        else:
            datasheet = self.datasheet

        form_factor: None | str | Unset
        if isinstance(self.form_factor, Unset):
            form_factor = UNSET
        else:
            form_factor = self.form_factor

        manufacturer: None | str | Unset
        if isinstance(self.manufacturer, Unset):
            manufacturer = UNSET
        else:
            manufacturer = self.manufacturer

        nominal_capacity: float | None | Unset
        if isinstance(self.nominal_capacity, Unset):
            nominal_capacity = UNSET
        else:
            nominal_capacity = self.nominal_capacity

        nominal_cell_weight: float | None | Unset
        if isinstance(self.nominal_cell_weight, Unset):
            nominal_cell_weight = UNSET
        else:
            nominal_cell_weight = self.nominal_cell_weight

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
            }
        )
        if anode_chemistry is not UNSET:
            field_dict["anode_chemistry"] = anode_chemistry
        if cathode_chemistry is not UNSET:
            field_dict["cathode_chemistry"] = cathode_chemistry
        if datasheet is not UNSET:
            field_dict["datasheet"] = datasheet
        if form_factor is not UNSET:
            field_dict["form_factor"] = form_factor
        if manufacturer is not UNSET:
            field_dict["manufacturer"] = manufacturer
        if nominal_capacity is not UNSET:
            field_dict["nominal_capacity"] = nominal_capacity
        if nominal_cell_weight is not UNSET:
            field_dict["nominal_cell_weight"] = nominal_cell_weight

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        def _parse_anode_chemistry(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        anode_chemistry = _parse_anode_chemistry(d.pop("anode_chemistry", UNSET))

        def _parse_cathode_chemistry(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        cathode_chemistry = _parse_cathode_chemistry(d.pop("cathode_chemistry", UNSET))

        def _parse_datasheet(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        datasheet = _parse_datasheet(d.pop("datasheet", UNSET))

        def _parse_form_factor(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        form_factor = _parse_form_factor(d.pop("form_factor", UNSET))

        def _parse_manufacturer(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        manufacturer = _parse_manufacturer(d.pop("manufacturer", UNSET))

        def _parse_nominal_capacity(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        nominal_capacity = _parse_nominal_capacity(d.pop("nominal_capacity", UNSET))

        def _parse_nominal_cell_weight(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        nominal_cell_weight = _parse_nominal_cell_weight(d.pop("nominal_cell_weight", UNSET))

        battery_cell = cls(
            id=id,
            name=name,
            anode_chemistry=anode_chemistry,
            cathode_chemistry=cathode_chemistry,
            datasheet=datasheet,
            form_factor=form_factor,
            manufacturer=manufacturer,
            nominal_capacity=nominal_capacity,
            nominal_cell_weight=nominal_cell_weight,
        )

        battery_cell.additional_properties = d
        return battery_cell

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
