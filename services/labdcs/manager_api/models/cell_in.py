from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.limits import Limits


T = TypeVar("T", bound="CellIn")


@_attrs_define
class CellIn:
    """A specimen (cell, module or pack) of a type: ``series`` x ``parallel`` cells of that type.

    Attributes:
        serial (str):
        type_ (str): Cell type id
        limits (Limits | Unset): Operating limits; None: no limit from this side.
        notes (str | Unset):  Default: ''.
        parallel (int | Unset):  Default: 1.
        parent (None | str | Unset): Module or pack this cell belongs to
        series (int | Unset):  Default: 1.
        team (None | str | Unset): Owning team; default: the writer's first team
    """

    serial: str
    type_: str
    limits: Limits | Unset = UNSET
    notes: str | Unset = ""
    parallel: int | Unset = 1
    parent: None | str | Unset = UNSET
    series: int | Unset = 1
    team: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        serial = self.serial

        type_ = self.type_

        limits: dict[str, Any] | Unset = UNSET
        if not isinstance(self.limits, Unset):
            limits = self.limits.to_dict()

        notes = self.notes

        parallel = self.parallel

        parent: None | str | Unset
        if isinstance(self.parent, Unset):
            parent = UNSET
        else:
            parent = self.parent

        series = self.series

        team: None | str | Unset
        if isinstance(self.team, Unset):
            team = UNSET
        else:
            team = self.team

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "serial": serial,
                "type": type_,
            }
        )
        if limits is not UNSET:
            field_dict["limits"] = limits
        if notes is not UNSET:
            field_dict["notes"] = notes
        if parallel is not UNSET:
            field_dict["parallel"] = parallel
        if parent is not UNSET:
            field_dict["parent"] = parent
        if series is not UNSET:
            field_dict["series"] = series
        if team is not UNSET:
            field_dict["team"] = team

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.limits import Limits

        d = dict(src_dict)
        serial = d.pop("serial")

        type_ = d.pop("type")

        _limits = d.pop("limits", UNSET)
        limits: Limits | Unset
        if isinstance(_limits, Unset):
            limits = UNSET
        else:
            limits = Limits.from_dict(_limits)

        notes = d.pop("notes", UNSET)

        parallel = d.pop("parallel", UNSET)

        def _parse_parent(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        parent = _parse_parent(d.pop("parent", UNSET))

        series = d.pop("series", UNSET)

        def _parse_team(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        team = _parse_team(d.pop("team", UNSET))

        cell_in = cls(
            serial=serial,
            type_=type_,
            limits=limits,
            notes=notes,
            parallel=parallel,
            parent=parent,
            series=series,
            team=team,
        )

        return cell_in
