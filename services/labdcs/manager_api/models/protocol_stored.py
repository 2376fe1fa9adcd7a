from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.protocol_doc import ProtocolDoc


T = TypeVar("T", bound="ProtocolStored")


@_attrs_define
class ProtocolStored:
    """
    Attributes:
        created (bool):
        protocol (ProtocolDoc): An immutable protocol version; the id is ``<name-slug>-v<version>``, ``hash`` its
            content.
    """

    created: bool
    protocol: ProtocolDoc
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created = self.created

        protocol = self.protocol.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created": created,
                "protocol": protocol,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.protocol_doc import ProtocolDoc

        d = dict(src_dict)
        created = d.pop("created")

        protocol = ProtocolDoc.from_dict(d.pop("protocol"))

        protocol_stored = cls(
            created=created,
            protocol=protocol,
        )

        protocol_stored.additional_properties = d
        return protocol_stored

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
