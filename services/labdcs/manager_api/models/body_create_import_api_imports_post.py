from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from .. import types
from ..types import UNSET, File, Unset

T = TypeVar("T", bound="BodyCreateImportApiImportsPost")


@_attrs_define
class BodyCreateImportApiImportsPost:
    """
    Attributes:
        file (File): The data file
        cell (None | str | Unset):
        format_ (None | str | Unset): Format name; default: detected
        mapping (None | str | Unset): Generic CSV: JSON {column: quantity}
        name (None | str | Unset):
        team (None | str | Unset): Default: the writer's team
    """

    file: File
    cell: None | str | Unset = UNSET
    format_: None | str | Unset = UNSET
    mapping: None | str | Unset = UNSET
    name: None | str | Unset = UNSET
    team: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        file = self.file.to_tuple()

        cell: None | str | Unset
        if isinstance(self.cell, Unset):
            cell = UNSET
        else:
            cell = self.cell

        format_: None | str | Unset
        if isinstance(self.format_, Unset):
            format_ = UNSET
        else:
            format_ = self.format_

        mapping: None | str | Unset
        if isinstance(self.mapping, Unset):
            mapping = UNSET
        else:
            mapping = self.mapping

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        team: None | str | Unset
        if isinstance(self.team, Unset):
            team = UNSET
        else:
            team = self.team

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "file": file,
            }
        )
        if cell is not UNSET:
            field_dict["cell"] = cell
        if format_ is not UNSET:
            field_dict["format"] = format_
        if mapping is not UNSET:
            field_dict["mapping"] = mapping
        if name is not UNSET:
            field_dict["name"] = name
        if team is not UNSET:
            field_dict["team"] = team

        return field_dict

    def to_multipart(self) -> types.RequestFiles:
        files: types.RequestFiles = []

        files.append(("file", self.file.to_tuple()))

        if not isinstance(self.cell, Unset):
            if isinstance(self.cell, str):
                files.append(("cell", (None, str(self.cell).encode(), "text/plain")))
            else:
                files.append(("cell", (None, str(self.cell).encode(), "text/plain")))

        if not isinstance(self.format_, Unset):
            if isinstance(self.format_, str):
                files.append(("format", (None, str(self.format_).encode(), "text/plain")))
            else:
                files.append(("format", (None, str(self.format_).encode(), "text/plain")))

        if not isinstance(self.mapping, Unset):
            if isinstance(self.mapping, str):
                files.append(("mapping", (None, str(self.mapping).encode(), "text/plain")))
            else:
                files.append(("mapping", (None, str(self.mapping).encode(), "text/plain")))

        if not isinstance(self.name, Unset):
            if isinstance(self.name, str):
                files.append(("name", (None, str(self.name).encode(), "text/plain")))
            else:
                files.append(("name", (None, str(self.name).encode(), "text/plain")))

        if not isinstance(self.team, Unset):
            if isinstance(self.team, str):
                files.append(("team", (None, str(self.team).encode(), "text/plain")))
            else:
                files.append(("team", (None, str(self.team).encode(), "text/plain")))

        for prop_name, prop in self.additional_properties.items():
            files.append((prop_name, (None, str(prop).encode(), "text/plain")))

        return files

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        file = File(payload=BytesIO(d.pop("file")))

        def _parse_cell(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        cell = _parse_cell(d.pop("cell", UNSET))

        def _parse_format_(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        format_ = _parse_format_(d.pop("format", UNSET))

        def _parse_mapping(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        mapping = _parse_mapping(d.pop("mapping", UNSET))

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

        def _parse_team(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        team = _parse_team(d.pop("team", UNSET))

        body_create_import_api_imports_post = cls(
            file=file,
            cell=cell,
            format_=format_,
            mapping=mapping,
            name=name,
            team=team,
        )

        body_create_import_api_imports_post.additional_properties = d
        return body_create_import_api_imports_post

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
