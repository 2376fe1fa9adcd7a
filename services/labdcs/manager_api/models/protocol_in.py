from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.protocol_in_document_type_0 import ProtocolInDocumentType0


T = TypeVar("T", bound="ProtocolIn")


@_attrs_define
class ProtocolIn:
    """A protocol to store: its document (YAML/JSON as an object), its text form, or WattRex lines.

    Attributes:
        document (None | ProtocolInDocumentType0 | Unset):
        name (None | str | Unset): Name for WattRex profiles
        team (None | str | Unset): Owning team; default: the writer's
        text (None | str | Unset): Text form, YAML or JSON
        wattrex (None | str | Unset): WattRex profile lines
    """

    document: None | ProtocolInDocumentType0 | Unset = UNSET
    name: None | str | Unset = UNSET
    team: None | str | Unset = UNSET
    text: None | str | Unset = UNSET
    wattrex: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.protocol_in_document_type_0 import ProtocolInDocumentType0

        document: dict[str, Any] | None | Unset
        if isinstance(self.document, Unset):
            document = UNSET
        elif isinstance(self.document, ProtocolInDocumentType0):
            document = self.document.to_dict()
        else:
            document = self.document

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

        text: None | str | Unset
        if isinstance(self.text, Unset):
            text = UNSET
        else:
            text = self.text

        wattrex: None | str | Unset
        if isinstance(self.wattrex, Unset):
            wattrex = UNSET
        else:
            wattrex = self.wattrex

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if document is not UNSET:
            field_dict["document"] = document
        if name is not UNSET:
            field_dict["name"] = name
        if team is not UNSET:
            field_dict["team"] = team
        if text is not UNSET:
            field_dict["text"] = text
        if wattrex is not UNSET:
            field_dict["wattrex"] = wattrex

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.protocol_in_document_type_0 import ProtocolInDocumentType0

        d = dict(src_dict)

        def _parse_document(data: object) -> None | ProtocolInDocumentType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                document_type_0 = ProtocolInDocumentType0.from_dict(data)

                return document_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ProtocolInDocumentType0 | Unset, data)

        document = _parse_document(d.pop("document", UNSET))

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

        def _parse_text(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        text = _parse_text(d.pop("text", UNSET))

        def _parse_wattrex(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        wattrex = _parse_wattrex(d.pop("wattrex", UNSET))

        protocol_in = cls(
            document=document,
            name=name,
            team=team,
            text=text,
            wattrex=wattrex,
        )

        protocol_in.additional_properties = d
        return protocol_in

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
