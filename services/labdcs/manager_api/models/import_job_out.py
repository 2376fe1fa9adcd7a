from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.job_state import JobState
from ..types import UNSET, Unset

T = TypeVar("T", bound="ImportJobOut")


@_attrs_define
class ImportJobOut:
    """
    Attributes:
        id (str):
        name (str):
        progress (float): 0..1 of the file read
        state (JobState):
        error (None | str | Unset):
        experiment (None | str | Unset):
        format_ (None | str | Unset):
        problems (list[str] | Unset):
        rows (int | Unset):  Default: 0.
        warnings (list[str] | Unset): What the import changed or noticed (duplicates dropped, ties, resets, the
            current's sign, the file's own capacities compared), each naming its rows
    """

    id: str
    name: str
    progress: float
    state: JobState
    error: None | str | Unset = UNSET
    experiment: None | str | Unset = UNSET
    format_: None | str | Unset = UNSET
    problems: list[str] | Unset = UNSET
    rows: int | Unset = 0
    warnings: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        progress = self.progress

        state = self.state.value

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

        problems: list[str] | Unset = UNSET
        if not isinstance(self.problems, Unset):
            problems = self.problems

        rows = self.rows

        warnings: list[str] | Unset = UNSET
        if not isinstance(self.warnings, Unset):
            warnings = self.warnings

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "progress": progress,
                "state": state,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error
        if experiment is not UNSET:
            field_dict["experiment"] = experiment
        if format_ is not UNSET:
            field_dict["format"] = format_
        if problems is not UNSET:
            field_dict["problems"] = problems
        if rows is not UNSET:
            field_dict["rows"] = rows
        if warnings is not UNSET:
            field_dict["warnings"] = warnings

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        progress = d.pop("progress")

        state = JobState(d.pop("state"))

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

        problems = cast(list[str], d.pop("problems", UNSET))

        rows = d.pop("rows", UNSET)

        warnings = cast(list[str], d.pop("warnings", UNSET))

        import_job_out = cls(
            id=id,
            name=name,
            progress=progress,
            state=state,
            error=error,
            experiment=experiment,
            format_=format_,
            problems=problems,
            rows=rows,
            warnings=warnings,
        )

        import_job_out.additional_properties = d
        return import_job_out

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
