from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.battery_cell import BatteryCell
    from ..models.column import Column
    from ..models.dataset_json_data_type_0 import DatasetJsonDataType0
    from ..models.equipment import Equipment
    from ..models.user import User


T = TypeVar("T", bound="Dataset")


@_attrs_define
class Dataset:
    """
    Attributes:
        column_ids (list[int]):
        columns (list[Column]):
        date (datetime.datetime):
        id (int):
        name (str):
        cell (BatteryCell | None | Unset):
        equipment (list[Equipment] | Unset):
        json_data (DatasetJsonDataType0 | None | Unset):
        owner (None | Unset | User):
        purpose (None | str | Unset):
    """

    column_ids: list[int]
    columns: list[Column]
    date: datetime.datetime
    id: int
    name: str
    cell: BatteryCell | None | Unset = UNSET
    equipment: list[Equipment] | Unset = UNSET
    json_data: DatasetJsonDataType0 | None | Unset = UNSET
    owner: None | Unset | User = UNSET
    purpose: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.battery_cell import BatteryCell
        from ..models.dataset_json_data_type_0 import DatasetJsonDataType0
        from ..models.user import User

        column_ids = self.column_ids

        columns = []
        for columns_item_data in self.columns:
            columns_item = columns_item_data.to_dict()
            columns.append(columns_item)

        date = self.date.isoformat()

        id = self.id

        name = self.name

        cell: dict[str, Any] | None | Unset
        if isinstance(self.cell, Unset):
            cell = UNSET
        elif isinstance(self.cell, BatteryCell):
            cell = self.cell.to_dict()
        else:
            cell = self.cell

        equipment: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.equipment, Unset):
            equipment = []
            for equipment_item_data in self.equipment:
                equipment_item = equipment_item_data.to_dict()
                equipment.append(equipment_item)

        json_data: dict[str, Any] | None | Unset
        if isinstance(self.json_data, Unset):
            json_data = UNSET
        elif isinstance(self.json_data, DatasetJsonDataType0):
            json_data = self.json_data.to_dict()
        else:
            json_data = self.json_data

        owner: dict[str, Any] | None | Unset
        if isinstance(self.owner, Unset):
            owner = UNSET
        elif isinstance(self.owner, User):
            owner = self.owner.to_dict()
        else:
            owner = self.owner

        purpose: None | str | Unset
        if isinstance(self.purpose, Unset):
            purpose = UNSET
        else:
            purpose = self.purpose

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "column_ids": column_ids,
                "columns": columns,
                "date": date,
                "id": id,
                "name": name,
            }
        )
        if cell is not UNSET:
            field_dict["cell"] = cell
        if equipment is not UNSET:
            field_dict["equipment"] = equipment
        if json_data is not UNSET:
            field_dict["json_data"] = json_data
        if owner is not UNSET:
            field_dict["owner"] = owner
        if purpose is not UNSET:
            field_dict["purpose"] = purpose

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.battery_cell import BatteryCell
        from ..models.column import Column
        from ..models.dataset_json_data_type_0 import DatasetJsonDataType0
        from ..models.equipment import Equipment
        from ..models.user import User

        d = dict(src_dict)
        column_ids = cast(list[int], d.pop("column_ids"))

        columns = []
        _columns = d.pop("columns")
        for columns_item_data in _columns:
            columns_item = Column.from_dict(columns_item_data)

            columns.append(columns_item)

        date = datetime.datetime.fromisoformat(d.pop("date"))

        id = d.pop("id")

        name = d.pop("name")

        def _parse_cell(data: object) -> BatteryCell | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                cell_type_0 = BatteryCell.from_dict(data)

                return cell_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(BatteryCell | None | Unset, data)

        cell = _parse_cell(d.pop("cell", UNSET))

        _equipment = d.pop("equipment", UNSET)
        equipment: list[Equipment] | Unset = UNSET
        if _equipment is not UNSET:
            equipment = []
            for equipment_item_data in _equipment:
                equipment_item = Equipment.from_dict(equipment_item_data)

                equipment.append(equipment_item)

        def _parse_json_data(data: object) -> DatasetJsonDataType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                json_data_type_0 = DatasetJsonDataType0.from_dict(data)

                return json_data_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DatasetJsonDataType0 | None | Unset, data)

        json_data = _parse_json_data(d.pop("json_data", UNSET))

        def _parse_owner(data: object) -> None | Unset | User:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                owner_type_0 = User.from_dict(data)

                return owner_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | User, data)

        owner = _parse_owner(d.pop("owner", UNSET))

        def _parse_purpose(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        purpose = _parse_purpose(d.pop("purpose", UNSET))

        dataset = cls(
            column_ids=column_ids,
            columns=columns,
            date=date,
            id=id,
            name=name,
            cell=cell,
            equipment=equipment,
            json_data=json_data,
            owner=owner,
            purpose=purpose,
        )

        dataset.additional_properties = d
        return dataset

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
