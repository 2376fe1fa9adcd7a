from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.kind import Kind
from ..models.role import Role

T = TypeVar("T", bound="Identity")


@_attrs_define
class Identity:
    """Who logged in, as the other UIs need it.

    Attributes:
        email (None | str):
        grafana_role (str): The Grafana organisation role the role maps to
        kind (Kind):
        name (str): The person's full name (may be empty)
        role (Role):
        user (str): The account id: the login name in every UI and audit
    """

    email: None | str
    grafana_role: str
    kind: Kind
    name: str
    role: Role
    user: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        email: None | str
        email = self.email

        grafana_role = self.grafana_role

        kind = self.kind.value

        name = self.name

        role = self.role.value

        user = self.user

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "email": email,
                "grafana_role": grafana_role,
                "kind": kind,
                "name": name,
                "role": role,
                "user": user,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_email(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        email = _parse_email(d.pop("email"))

        grafana_role = d.pop("grafana_role")

        kind = Kind(d.pop("kind"))

        name = d.pop("name")

        role = Role(d.pop("role"))

        user = d.pop("user")

        identity = cls(
            email=email,
            grafana_role=grafana_role,
            kind=kind,
            name=name,
            role=role,
            user=user,
        )

        identity.additional_properties = d
        return identity

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
