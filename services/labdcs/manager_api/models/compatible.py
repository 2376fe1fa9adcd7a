from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.protocol_doc import ProtocolDoc


T = TypeVar("T", bound="Compatible")


@_attrs_define
class Compatible:
    """
    Attributes:
        ok (bool):
        problems (list[str]):
        protocol (ProtocolDoc): An immutable protocol version; the id is ``<name-slug>-v<version>``, ``hash`` its
            content.
    """

    ok: bool
    problems: list[str]
    protocol: ProtocolDoc
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        ok = self.ok

        problems = self.problems

        protocol = self.protocol.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "ok": ok,
                "problems": problems,
                "protocol": protocol,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.protocol_doc import ProtocolDoc

        d = dict(src_dict)
        ok = d.pop("ok")

        problems = cast(list[str], d.pop("problems"))

        protocol = ProtocolDoc.from_dict(d.pop("protocol"))

        compatible = cls(
            ok=ok,
            problems=problems,
            protocol=protocol,
        )

        compatible.additional_properties = d
        return compatible

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
