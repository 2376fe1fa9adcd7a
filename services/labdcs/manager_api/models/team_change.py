from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.team_change_visibility import TeamChangeVisibility

T = TypeVar("T", bound="TeamChange")


@_attrs_define
class TeamChange:
    """
    Attributes:
        visibility (TeamChangeVisibility):
    """

    visibility: TeamChangeVisibility

    def to_dict(self) -> dict[str, Any]:
        visibility = self.visibility.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "visibility": visibility,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        visibility = TeamChangeVisibility(d.pop("visibility"))

        team_change = cls(
            visibility=visibility,
        )

        return team_change
