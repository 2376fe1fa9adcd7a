from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.technology import Technology
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.limits import Limits


T = TypeVar("T", bound="Cell")


@_attrs_define
class Cell:
    """
    Attributes:
        id (str):
        serial (str):
        technology (Technology):
        type_ (str): Cell type id
        created (int | Unset):
        limits (Limits | Unset): Operating limits; None: no limit from this side.
        notes (str | Unset):  Default: ''.
        parallel (int | Unset):  Default: 1.
        parent (None | str | Unset): Module or pack this cell belongs to
        schema_version (int | Unset):  Default: 2.
        series (int | Unset):  Default: 1.
        team (str | Unset):  Default: 'lab'.
    """

    id: str
    serial: str
    technology: Technology
    type_: str
    created: int | Unset = UNSET
    limits: Limits | Unset = UNSET
    notes: str | Unset = ""
    parallel: int | Unset = 1
    parent: None | str | Unset = UNSET
    schema_version: int | Unset = 2
    series: int | Unset = 1
    team: str | Unset = "lab"

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        serial = self.serial

        technology = self.technology.value

        type_ = self.type_

        created = self.created

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

        schema_version = self.schema_version

        series = self.series

        team = self.team

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "serial": serial,
                "technology": technology,
                "type": type_,
            }
        )
        if created is not UNSET:
            field_dict["created"] = created
        if limits is not UNSET:
            field_dict["limits"] = limits
        if notes is not UNSET:
            field_dict["notes"] = notes
        if parallel is not UNSET:
            field_dict["parallel"] = parallel
        if parent is not UNSET:
            field_dict["parent"] = parent
        if schema_version is not UNSET:
            field_dict["schema_version"] = schema_version
        if series is not UNSET:
            field_dict["series"] = series
        if team is not UNSET:
            field_dict["team"] = team

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.limits import Limits

        d = dict(src_dict)
        id = d.pop("id")

        serial = d.pop("serial")

        technology = Technology(d.pop("technology"))

        type_ = d.pop("type")

        created = d.pop("created", UNSET)

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

        schema_version = d.pop("schema_version", UNSET)

        series = d.pop("series", UNSET)

        team = d.pop("team", UNSET)

        cell = cls(
            id=id,
            serial=serial,
            technology=technology,
            type_=type_,
            created=created,
            limits=limits,
            notes=notes,
            parallel=parallel,
            parent=parent,
            schema_version=schema_version,
            series=series,
            team=team,
        )

        return cell
