from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.status import Status
from ..models.technology import Technology
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.progress import Progress


T = TypeVar("T", bound="Experiment")


@_attrs_define
class Experiment:
    """
    Attributes:
        cell (str):
        id (str):
        name (str):
        protocol (str):
        station (str):
        capacity_ah (float | None | Unset): For C-rates; default: the cell's
        channel (str | Unset):  Default: 'ch1'.
        claimed (int | None | Unset): When the queue took it for starting, ms
        created (int | Unset):
        cycles (int | Unset): Cycle statistics recorded Default: 0.
        data_files (list[str] | Unset): DataFile ids (imports)
        description (str | Unset):  Default: ''.
        end_reason (None | str | Unset):
        finished (int | None | Unset): Run end (station clock), ms
        operator (str | Unset):  Default: ''.
        progress (Progress | Unset): Where a run is, from the station's latest state.
        rows (int | None | Unset): Samples imported (imports)
        schema_version (int | Unset):  Default: 2.
        source (str | Unset): station (run here) or import (from a file) Default: 'station'.
        started (int | None | Unset): First running state (station clock), ms
        status (Status | Unset):
        team (str | Unset):  Default: 'lab'.
        technology (None | Technology | Unset): Copied from the cell, for filtering
    """

    cell: str
    id: str
    name: str
    protocol: str
    station: str
    capacity_ah: float | None | Unset = UNSET
    channel: str | Unset = "ch1"
    claimed: int | None | Unset = UNSET
    created: int | Unset = UNSET
    cycles: int | Unset = 0
    data_files: list[str] | Unset = UNSET
    description: str | Unset = ""
    end_reason: None | str | Unset = UNSET
    finished: int | None | Unset = UNSET
    operator: str | Unset = ""
    progress: Progress | Unset = UNSET
    rows: int | None | Unset = UNSET
    schema_version: int | Unset = 2
    source: str | Unset = "station"
    started: int | None | Unset = UNSET
    status: Status | Unset = UNSET
    team: str | Unset = "lab"
    technology: None | Technology | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        cell = self.cell

        id = self.id

        name = self.name

        protocol = self.protocol

        station = self.station

        capacity_ah: float | None | Unset
        if isinstance(self.capacity_ah, Unset):
            capacity_ah = UNSET
        else:
            capacity_ah = self.capacity_ah

        channel = self.channel

        claimed: int | None | Unset
        if isinstance(self.claimed, Unset):
            claimed = UNSET
        else:
            claimed = self.claimed

        created = self.created

        cycles = self.cycles

        data_files: list[str] | Unset = UNSET
        if not isinstance(self.data_files, Unset):
            data_files = self.data_files

        description = self.description

        end_reason: None | str | Unset
        if isinstance(self.end_reason, Unset):
            end_reason = UNSET
        else:
            end_reason = self.end_reason

        finished: int | None | Unset
        if isinstance(self.finished, Unset):
            finished = UNSET
        else:
            finished = self.finished

        operator = self.operator

        progress: dict[str, Any] | Unset = UNSET
        if not isinstance(self.progress, Unset):
            progress = self.progress.to_dict()

        rows: int | None | Unset
        if isinstance(self.rows, Unset):
            rows = UNSET
        else:
            rows = self.rows

        schema_version = self.schema_version

        source = self.source

        started: int | None | Unset
        if isinstance(self.started, Unset):
            started = UNSET
        else:
            started = self.started

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        team = self.team

        technology: None | str | Unset
        if isinstance(self.technology, Unset):
            technology = UNSET
        elif isinstance(self.technology, Technology):
            technology = self.technology.value
        else:
            technology = self.technology

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "cell": cell,
                "id": id,
                "name": name,
                "protocol": protocol,
                "station": station,
            }
        )
        if capacity_ah is not UNSET:
            field_dict["capacity_ah"] = capacity_ah
        if channel is not UNSET:
            field_dict["channel"] = channel
        if claimed is not UNSET:
            field_dict["claimed"] = claimed
        if created is not UNSET:
            field_dict["created"] = created
        if cycles is not UNSET:
            field_dict["cycles"] = cycles
        if data_files is not UNSET:
            field_dict["data_files"] = data_files
        if description is not UNSET:
            field_dict["description"] = description
        if end_reason is not UNSET:
            field_dict["end_reason"] = end_reason
        if finished is not UNSET:
            field_dict["finished"] = finished
        if operator is not UNSET:
            field_dict["operator"] = operator
        if progress is not UNSET:
            field_dict["progress"] = progress
        if rows is not UNSET:
            field_dict["rows"] = rows
        if schema_version is not UNSET:
            field_dict["schema_version"] = schema_version
        if source is not UNSET:
            field_dict["source"] = source
        if started is not UNSET:
            field_dict["started"] = started
        if status is not UNSET:
            field_dict["status"] = status
        if team is not UNSET:
            field_dict["team"] = team
        if technology is not UNSET:
            field_dict["technology"] = technology

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.progress import Progress

        d = dict(src_dict)
        cell = d.pop("cell")

        id = d.pop("id")

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

        def _parse_claimed(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        claimed = _parse_claimed(d.pop("claimed", UNSET))

        created = d.pop("created", UNSET)

        cycles = d.pop("cycles", UNSET)

        data_files = cast(list[str], d.pop("data_files", UNSET))

        description = d.pop("description", UNSET)

        def _parse_end_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        end_reason = _parse_end_reason(d.pop("end_reason", UNSET))

        def _parse_finished(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        finished = _parse_finished(d.pop("finished", UNSET))

        operator = d.pop("operator", UNSET)

        _progress = d.pop("progress", UNSET)
        progress: Progress | Unset
        if isinstance(_progress, Unset):
            progress = UNSET
        else:
            progress = Progress.from_dict(_progress)

        def _parse_rows(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        rows = _parse_rows(d.pop("rows", UNSET))

        schema_version = d.pop("schema_version", UNSET)

        source = d.pop("source", UNSET)

        def _parse_started(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        started = _parse_started(d.pop("started", UNSET))

        _status = d.pop("status", UNSET)
        status: Status | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = Status(_status)

        team = d.pop("team", UNSET)

        def _parse_technology(data: object) -> None | Technology | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                technology_type_0 = Technology(data)

                return technology_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Technology | Unset, data)

        technology = _parse_technology(d.pop("technology", UNSET))

        experiment = cls(
            cell=cell,
            id=id,
            name=name,
            protocol=protocol,
            station=station,
            capacity_ah=capacity_ah,
            channel=channel,
            claimed=claimed,
            created=created,
            cycles=cycles,
            data_files=data_files,
            description=description,
            end_reason=end_reason,
            finished=finished,
            operator=operator,
            progress=progress,
            rows=rows,
            schema_version=schema_version,
            source=source,
            started=started,
            status=status,
            team=team,
            technology=technology,
        )

        return experiment
