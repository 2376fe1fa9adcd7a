from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ExperimentIn")


@_attrs_define
class ExperimentIn:
    """What an operator asks for: this protocol, on this cell, on this station channel.

    Attributes:
        cell (str):
        name (str):
        protocol (str):
        station (str):
        capacity_ah (float | None | Unset): For C-rates; default: the cell's
        channel (str | Unset):  Default: 'ch1'.
        description (str | Unset):  Default: ''.
        operator (str | Unset):  Default: ''.
        team (None | str | Unset): Owning team; default: the writer's first team
    """

    cell: str
    name: str
    protocol: str
    station: str
    capacity_ah: float | None | Unset = UNSET
    channel: str | Unset = "ch1"
    description: str | Unset = ""
    operator: str | Unset = ""
    team: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        cell = self.cell

        name = self.name

        protocol = self.protocol

        station = self.station

        capacity_ah: float | None | Unset
        if isinstance(self.capacity_ah, Unset):
            capacity_ah = UNSET
        else:
            capacity_ah = self.capacity_ah

        channel = self.channel

        description = self.description

        operator = self.operator

        team: None | str | Unset
        if isinstance(self.team, Unset):
            team = UNSET
        else:
            team = self.team

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "cell": cell,
                "name": name,
                "protocol": protocol,
                "station": station,
            }
        )
        if capacity_ah is not UNSET:
            field_dict["capacity_ah"] = capacity_ah
        if channel is not UNSET:
            field_dict["channel"] = channel
        if description is not UNSET:
            field_dict["description"] = description
        if operator is not UNSET:
            field_dict["operator"] = operator
        if team is not UNSET:
            field_dict["team"] = team

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        cell = d.pop("cell")

        name = d.pop("name")

        protocol = d.pop("protocol")

        station = d.pop("station")

        def _parse_capacity_ah(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        capacity_ah = _parse_capacity_ah(d.pop("capacity_ah", UNSET))

        channel = d.pop("channel", UNSET)

        description = d.pop("description", UNSET)

        operator = d.pop("operator", UNSET)

        def _parse_team(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        team = _parse_team(d.pop("team", UNSET))

        experiment_in = cls(
            cell=cell,
            name=name,
            protocol=protocol,
            station=station,
            capacity_ah=capacity_ah,
            channel=channel,
            description=description,
            operator=operator,
            team=team,
        )

        return experiment_in
