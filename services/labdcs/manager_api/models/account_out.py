from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.kind import Kind
from ..models.role import Role

T = TypeVar("T", bound="AccountOut")


@_attrs_define
class AccountOut:
    """An account as the API shows it (never its password hash).

    Attributes:
        changed (int):
        created (int):
        disabled (bool):
        email (None | str):
        id (str):
        kind (Kind):
        name (str):
        role (Role):
        teams (list[str]):
    """

    changed: int
    created: int
    disabled: bool
    email: None | str
    id: str
    kind: Kind
    name: str
    role: Role
    teams: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        changed = self.changed

        created = self.created

        disabled = self.disabled

        email: None | str
        email = self.email

        id = self.id

        kind = self.kind.value

        name = self.name

        role = self.role.value

        teams = self.teams

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "changed": changed,
                "created": created,
                "disabled": disabled,
                "email": email,
                "id": id,
                "kind": kind,
                "name": name,
                "role": role,
                "teams": teams,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        changed = d.pop("changed")

        created = d.pop("created")

        disabled = d.pop("disabled")

        def _parse_email(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        email = _parse_email(d.pop("email"))

        id = d.pop("id")

        kind = Kind(d.pop("kind"))

        name = d.pop("name")

        role = Role(d.pop("role"))

        teams = cast(list[str], d.pop("teams"))

        account_out = cls(
            changed=changed,
            created=created,
            disabled=disabled,
            email=email,
            id=id,
            kind=kind,
            name=name,
            role=role,
            teams=teams,
        )

        account_out.additional_properties = d
        return account_out

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
