from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.protocol_doc_document import ProtocolDocDocument


T = TypeVar("T", bound="ProtocolDoc")


@_attrs_define
class ProtocolDoc:
    """An immutable protocol version; the id is ``<name-slug>-v<version>``, ``hash`` its content.

    Attributes:
        document (ProtocolDocDocument):
        hash_ (str): sha256 of the canonical JSON of the protocol without its version
        id (str):
        name (str):
        slug (str): The name as an id: versions of one protocol share it
        version (int):
        created (int | Unset):
        cycles (int | None | Unset):
        description (str | Unset):  Default: ''.
        estimate_s (float | None | Unset):
        origin (str | Unset): native, text, wattrex, upload Default: 'native'.
        schema_version (int | Unset):  Default: 2.
        team (str | Unset): Owning team Default: 'lab'.
        text (str | Unset): The text form, for people Default: ''.
    """

    document: ProtocolDocDocument
    hash_: str
    id: str
    name: str
    slug: str
    version: int
    created: int | Unset = UNSET
    cycles: int | None | Unset = UNSET
    description: str | Unset = ""
    estimate_s: float | None | Unset = UNSET
    origin: str | Unset = "native"
    schema_version: int | Unset = 2
    team: str | Unset = "lab"
    text: str | Unset = ""

    def to_dict(self) -> dict[str, Any]:
        document = self.document.to_dict()

        hash_ = self.hash_

        id = self.id

        name = self.name

        slug = self.slug

        version = self.version

        created = self.created

        cycles: int | None | Unset
        if isinstance(self.cycles, Unset):
            cycles = UNSET
        else:
            cycles = self.cycles

        description = self.description

        estimate_s: float | None | Unset
        if isinstance(self.estimate_s, Unset):
            estimate_s = UNSET
        else:
            estimate_s = self.estimate_s

        origin = self.origin

        schema_version = self.schema_version

        team = self.team

        text = self.text

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "document": document,
                "hash": hash_,
                "id": id,
                "name": name,
                "slug": slug,
                "version": version,
            }
        )
        if created is not UNSET:
            field_dict["created"] = created
        if cycles is not UNSET:
            field_dict["cycles"] = cycles
        if description is not UNSET:
            field_dict["description"] = description
        if estimate_s is not UNSET:
            field_dict["estimate_s"] = estimate_s
        if origin is not UNSET:
            field_dict["origin"] = origin
        if schema_version is not UNSET:
            field_dict["schema_version"] = schema_version
        if team is not UNSET:
            field_dict["team"] = team
        if text is not UNSET:
            field_dict["text"] = text

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.protocol_doc_document import ProtocolDocDocument

        d = dict(src_dict)
        document = ProtocolDocDocument.from_dict(d.pop("document"))

        hash_ = d.pop("hash")

        id = d.pop("id")

        name = d.pop("name")

        slug = d.pop("slug")

        version = d.pop("version")

        created = d.pop("created", UNSET)

        def _parse_cycles(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        cycles = _parse_cycles(d.pop("cycles", UNSET))

        description = d.pop("description", UNSET)

        def _parse_estimate_s(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        estimate_s = _parse_estimate_s(d.pop("estimate_s", UNSET))

        origin = d.pop("origin", UNSET)

        schema_version = d.pop("schema_version", UNSET)

        team = d.pop("team", UNSET)

        text = d.pop("text", UNSET)

        protocol_doc = cls(
            document=document,
            hash_=hash_,
            id=id,
            name=name,
            slug=slug,
            version=version,
            created=created,
            cycles=cycles,
            description=description,
            estimate_s=estimate_s,
            origin=origin,
            schema_version=schema_version,
            team=team,
            text=text,
        )

        return protocol_doc
