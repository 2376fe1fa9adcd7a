from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.file_status import FileStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="DataFile")


@_attrs_define
class DataFile:
    """A file offered for import, by content hash (``_id`` = sha256): never imported twice.

    Attributes:
        id (str):
        name (str):
        path (str):
        size (int):
        status (FileStatus):
        created (int | Unset):
        error (None | str | Unset):
        experiment (None | str | Unset):
        format_ (None | str | Unset):
        mtime (float | None | Unset):
        problems (list[str] | Unset):
        rows (int | None | Unset):
        schema_version (int | Unset):  Default: 2.
        warnings (list[str] | Unset): What the import changed or noticed (duplicate rows dropped, ties, resets, the
            current's sign, the file's own capacities compared), each naming its rows
    """

    id: str
    name: str
    path: str
    size: int
    status: FileStatus
    created: int | Unset = UNSET
    error: None | str | Unset = UNSET
    experiment: None | str | Unset = UNSET
    format_: None | str | Unset = UNSET
    mtime: float | None | Unset = UNSET
    problems: list[str] | Unset = UNSET
    rows: int | None | Unset = UNSET
    schema_version: int | Unset = 2
    warnings: list[str] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        path = self.path

        size = self.size

        status = self.status.value

        created = self.created

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

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

        mtime: float | None | Unset
        if isinstance(self.mtime, Unset):
            mtime = UNSET
        else:
            mtime = self.mtime

        problems: list[str] | Unset = UNSET
        if not isinstance(self.problems, Unset):
            problems = self.problems

        rows: int | None | Unset
        if isinstance(self.rows, Unset):
            rows = UNSET
        else:
            rows = self.rows

        schema_version = self.schema_version

        warnings: list[str] | Unset = UNSET
        if not isinstance(self.warnings, Unset):
            warnings = self.warnings

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "name": name,
                "path": path,
                "size": size,
                "status": status,
            }
        )
        if created is not UNSET:
            field_dict["created"] = created
        if error is not UNSET:
            field_dict["error"] = error
        if experiment is not UNSET:
            field_dict["experiment"] = experiment
        if format_ is not UNSET:
            field_dict["format"] = format_
        if mtime is not UNSET:
            field_dict["mtime"] = mtime
        if problems is not UNSET:
            field_dict["problems"] = problems
        if rows is not UNSET:
            field_dict["rows"] = rows
        if schema_version is not UNSET:
            field_dict["schema_version"] = schema_version
        if warnings is not UNSET:
            field_dict["warnings"] = warnings

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        path = d.pop("path")

        size = d.pop("size")

        status = FileStatus(d.pop("status"))

        created = d.pop("created", UNSET)

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

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

        def _parse_mtime(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        mtime = _parse_mtime(d.pop("mtime", UNSET))

        problems = cast(list[str], d.pop("problems", UNSET))

        def _parse_rows(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        rows = _parse_rows(d.pop("rows", UNSET))

        schema_version = d.pop("schema_version", UNSET)

        warnings = cast(list[str], d.pop("warnings", UNSET))

        data_file = cls(
            id=id,
            name=name,
            path=path,
            size=size,
            status=status,
            created=created,
            error=error,
            experiment=experiment,
            format_=format_,
            mtime=mtime,
            problems=problems,
            rows=rows,
            schema_version=schema_version,
            warnings=warnings,
        )

        return data_file
