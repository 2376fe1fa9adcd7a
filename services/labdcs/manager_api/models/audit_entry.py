from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="AuditEntry")


@_attrs_define
class AuditEntry:
    """Every command the manager sent or refused, and every change operators made.

    Attributes:
        action (str):
        id (str):
        target (str):
        detail (None | str | Unset):
        principal (None | str | Unset): Who is authenticated as acting: the web login, or the manager itself
            (experiments-queue, harvester) for what it does on its own; absent in entries written before
        result (str | Unset):  Default: 'ok'.
        schema_version (int | Unset):  Default: 2.
        ts (int | Unset):
        user (None | str | Unset): The person the request named (a claim, shown next to the principal)
    """

    action: str
    id: str
    target: str
    detail: None | str | Unset = UNSET
    principal: None | str | Unset = UNSET
    result: str | Unset = "ok"
    schema_version: int | Unset = 2
    ts: int | Unset = UNSET
    user: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        action = self.action

        id = self.id

        target = self.target

        detail: None | str | Unset
        if isinstance(self.detail, Unset):
            detail = UNSET
        else:
            detail = self.detail

        principal: None | str | Unset
        if isinstance(self.principal, Unset):
            principal = UNSET
        else:
            principal = self.principal

        result = self.result

        schema_version = self.schema_version

        ts = self.ts

        user: None | str | Unset
        if isinstance(self.user, Unset):
            user = UNSET
        else:
            user = self.user

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "action": action,
                "id": id,
                "target": target,
            }
        )
        if detail is not UNSET:
            field_dict["detail"] = detail
        if principal is not UNSET:
            field_dict["principal"] = principal
        if result is not UNSET:
            field_dict["result"] = result
        if schema_version is not UNSET:
            field_dict["schema_version"] = schema_version
        if ts is not UNSET:
            field_dict["ts"] = ts
        if user is not UNSET:
            field_dict["user"] = user

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        action = d.pop("action")

        id = d.pop("id")

        target = d.pop("target")

        def _parse_detail(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        detail = _parse_detail(d.pop("detail", UNSET))

        def _parse_principal(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        principal = _parse_principal(d.pop("principal", UNSET))

        result = d.pop("result", UNSET)

        schema_version = d.pop("schema_version", UNSET)

        ts = d.pop("ts", UNSET)

        def _parse_user(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        user = _parse_user(d.pop("user", UNSET))

        audit_entry = cls(
            action=action,
            id=id,
            target=target,
            detail=detail,
            principal=principal,
            result=result,
            schema_version=schema_version,
            ts=ts,
            user=user,
        )

        return audit_entry
