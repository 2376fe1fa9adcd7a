from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.check_in_document_type_0 import CheckInDocumentType0


T = TypeVar("T", bound="CheckIn")


@_attrs_define
class CheckIn:
    """
    Attributes:
        cell (None | str | Unset):
        channel (str | Unset):  Default: 'ch1'.
        document (CheckInDocumentType0 | None | Unset):
        name (None | str | Unset): Name for WattRex profiles
        protocol (None | str | Unset): A stored protocol instead
        station (None | str | Unset):
        team (None | str | Unset): Owning team; default: the writer's
        text (None | str | Unset): Text form, YAML or JSON
        wattrex (None | str | Unset): WattRex profile lines
    """

    cell: None | str | Unset = UNSET
    channel: str | Unset = "ch1"
    document: CheckInDocumentType0 | None | Unset = UNSET
    name: None | str | Unset = UNSET
    protocol: None | str | Unset = UNSET
    station: None | str | Unset = UNSET
    team: None | str | Unset = UNSET
    text: None | str | Unset = UNSET
    wattrex: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.check_in_document_type_0 import CheckInDocumentType0

        cell: None | str | Unset
        if isinstance(self.cell, Unset):
            cell = UNSET
        else:
            cell = self.cell

        channel = self.channel

        document: dict[str, Any] | None | Unset
        if isinstance(self.document, Unset):
            document = UNSET
        elif isinstance(self.document, CheckInDocumentType0):
            document = self.document.to_dict()
        else:
            document = self.document

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        protocol: None | str | Unset
        if isinstance(self.protocol, Unset):
            protocol = UNSET
        else:
            protocol = self.protocol

        station: None | str | Unset
        if isinstance(self.station, Unset):
            station = UNSET
        else:
            station = self.station

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
        if cell is not UNSET:
            field_dict["cell"] = cell
        if channel is not UNSET:
            field_dict["channel"] = channel
        if document is not UNSET:
            field_dict["document"] = document
        if name is not UNSET:
            field_dict["name"] = name
        if protocol is not UNSET:
            field_dict["protocol"] = protocol
        if station is not UNSET:
            field_dict["station"] = station
        if team is not UNSET:
            field_dict["team"] = team
        if text is not UNSET:
            field_dict["text"] = text
        if wattrex is not UNSET:
            field_dict["wattrex"] = wattrex

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.check_in_document_type_0 import CheckInDocumentType0

        d = dict(src_dict)

        def _parse_cell(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        cell = _parse_cell(d.pop("cell", UNSET))

        channel = d.pop("channel", UNSET)

        def _parse_document(data: object) -> CheckInDocumentType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                document_type_0 = CheckInDocumentType0.from_dict(data)

                return document_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CheckInDocumentType0 | None | Unset, data)

        document = _parse_document(d.pop("document", UNSET))

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

        def _parse_protocol(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        protocol = _parse_protocol(d.pop("protocol", UNSET))

        def _parse_station(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        station = _parse_station(d.pop("station", UNSET))

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

        check_in = cls(
            cell=cell,
            channel=channel,
            document=document,
            name=name,
            protocol=protocol,
            station=station,
            team=team,
            text=text,
            wattrex=wattrex,
        )

        check_in.additional_properties = d
        return check_in

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
