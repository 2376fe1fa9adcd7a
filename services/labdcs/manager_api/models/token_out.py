from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.scope import Scope

T = TypeVar("T", bound="TokenOut")


@_attrs_define
class TokenOut:
    """
    Attributes:
        account (str):
        created (int):
        id (str):
        last_used (int | None):
        name (str):
        revoked (int | None):
        scopes (list[Scope]):
    """

    account: str
    created: int
    id: str
    last_used: int | None
    name: str
    revoked: int | None
    scopes: list[Scope]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        account = self.account

        created = self.created

        id = self.id

        last_used: int | None
        last_used = self.last_used

        name = self.name

        revoked: int | None
        revoked = self.revoked

        scopes = []
        for scopes_item_data in self.scopes:
            scopes_item = scopes_item_data.value
            scopes.append(scopes_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "account": account,
                "created": created,
                "id": id,
                "last_used": last_used,
                "name": name,
                "revoked": revoked,
                "scopes": scopes,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        account = d.pop("account")

        created = d.pop("created")

        id = d.pop("id")

        def _parse_last_used(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        last_used = _parse_last_used(d.pop("last_used"))

        name = d.pop("name")

        def _parse_revoked(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        revoked = _parse_revoked(d.pop("revoked"))

        scopes = []
        _scopes = d.pop("scopes")
        for scopes_item_data in _scopes:
            scopes_item = Scope(scopes_item_data)

            scopes.append(scopes_item)

        token_out = cls(
            account=account,
            created=created,
            id=id,
            last_used=last_used,
            name=name,
            revoked=revoked,
            scopes=scopes,
        )

        token_out.additional_properties = d
        return token_out

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
