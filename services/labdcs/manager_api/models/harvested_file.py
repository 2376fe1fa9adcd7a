from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.harvest_status import HarvestStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="HarvestedFile")


@_attrs_define
class HarvestedFile:
    """Every file the harvester saw in a watched folder (``_id``: a hash of its path), with what became
    of it and why; and, for a file imported while it grows, the checkpoint it resumes from.

        Attributes:
            folder (str):
            id (str):
            path (str):
            status (HarvestStatus):
            experiment (None | str | Unset):
            format_ (None | str | Unset):
            last_row (int | Unset):  Default: 0.
            last_time_ns (int | None | Unset):
            mtime (float | None | Unset):
            offset (int | Unset):  Default: 0.
            read_hash (None | str | Unset):
            reason (str | Unset):  Default: ''.
            rows (int | Unset):  Default: 0.
            schema_version (int | Unset):  Default: 2.
            size (int | Unset):  Default: 0.
            updated (int | Unset):
    """

    folder: str
    id: str
    path: str
    status: HarvestStatus
    experiment: None | str | Unset = UNSET
    format_: None | str | Unset = UNSET
    last_row: int | Unset = 0
    last_time_ns: int | None | Unset = UNSET
    mtime: float | None | Unset = UNSET
    offset: int | Unset = 0
    read_hash: None | str | Unset = UNSET
    reason: str | Unset = ""
    rows: int | Unset = 0
    schema_version: int | Unset = 2
    size: int | Unset = 0
    updated: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        folder = self.folder

        id = self.id

        path = self.path

        status = self.status.value

        experiment: None | str | Unset
        if isinstance(self.experiment, Unset):
            experiment = UNSET
        else:
            experiment = self.experiment

        format_: None | str | Unset
        if isinstance(self.format_, Unset):
            format_ = UNSET
        else:
            format_ = self.format_

        last_row = self.last_row

        last_time_ns: int | None | Unset
        if isinstance(self.last_time_ns, Unset):
            last_time_ns = UNSET
        else:
            last_time_ns = self.last_time_ns

        mtime: float | None | Unset
        if isinstance(self.mtime, Unset):
            mtime = UNSET
        else:
            mtime = self.mtime

        offset = self.offset

        read_hash: None | str | Unset
        if isinstance(self.read_hash, Unset):
            read_hash = UNSET
        else:
            read_hash = self.read_hash

        reason = self.reason

        rows = self.rows

        schema_version = self.schema_version

        size = self.size

        updated = self.updated

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "folder": folder,
                "id": id,
                "path": path,
                "status": status,
            }
        )
        if experiment is not UNSET:
            field_dict["experiment"] = experiment
        if format_ is not UNSET:
            field_dict["format"] = format_
        if last_row is not UNSET:
            field_dict["last_row"] = last_row
        if last_time_ns is not UNSET:
            field_dict["last_time_ns"] = last_time_ns
        if mtime is not UNSET:
            field_dict["mtime"] = mtime
        if offset is not UNSET:
            field_dict["offset"] = offset
        if read_hash is not UNSET:
            field_dict["read_hash"] = read_hash
        if reason is not UNSET:
            field_dict["reason"] = reason
        if rows is not UNSET:
            field_dict["rows"] = rows
        if schema_version is not UNSET:
            field_dict["schema_version"] = schema_version
        if size is not UNSET:
            field_dict["size"] = size
        if updated is not UNSET:
            field_dict["updated"] = updated

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        folder = d.pop("folder")

        id = d.pop("id")

        path = d.pop("path")

        status = HarvestStatus(d.pop("status"))

        def _parse_experiment(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        experiment = _parse_experiment(d.pop("experiment", UNSET))

        def _parse_format_(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        format_ = _parse_format_(d.pop("format", UNSET))

        last_row = d.pop("last_row", UNSET)

        def _parse_last_time_ns(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        last_time_ns = _parse_last_time_ns(d.pop("last_time_ns", UNSET))

        def _parse_mtime(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        mtime = _parse_mtime(d.pop("mtime", UNSET))

        offset = d.pop("offset", UNSET)

        def _parse_read_hash(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        read_hash = _parse_read_hash(d.pop("read_hash", UNSET))

        reason = d.pop("reason", UNSET)

        rows = d.pop("rows", UNSET)

        schema_version = d.pop("schema_version", UNSET)

        size = d.pop("size", UNSET)

        updated = d.pop("updated", UNSET)

        harvested_file = cls(
            folder=folder,
            id=id,
            path=path,
            status=status,
            experiment=experiment,
            format_=format_,
            last_row=last_row,
            last_time_ns=last_time_ns,
            mtime=mtime,
            offset=offset,
            read_hash=read_hash,
            reason=reason,
            rows=rows,
            schema_version=schema_version,
            size=size,
            updated=updated,
        )

        return harvested_file
