from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.team_in_visibility import TeamInVisibility
from ..types import UNSET, Unset

T = TypeVar("T", bound="TeamIn")


@_attrs_define
class TeamIn:
    """
    Attributes:
        id (str):
        name (str | Unset):  Default: ''.
        visibility (TeamInVisibility | Unset):  Default: TeamInVisibility.LAB.
    """

    id: str
    name: str | Unset = ""
    visibility: TeamInVisibility | Unset = TeamInVisibility.LAB

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        visibility: str | Unset = UNSET
        if not isinstance(self.visibility, Unset):
            visibility = self.visibility.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
            }
        )
        if name is not UNSET:
            field_dict["name"] = name
        if visibility is not UNSET:
            field_dict["visibility"] = visibility

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name", UNSET)

        _visibility = d.pop("visibility", UNSET)
        visibility: TeamInVisibility | Unset
        if isinstance(_visibility, Unset):
            visibility = UNSET
        else:
            visibility = TeamInVisibility(_visibility)

        team_in = cls(
            id=id,
            name=name,
            visibility=visibility,
        )

        return team_in
