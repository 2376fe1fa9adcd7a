from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.limits import Limits


T = TypeVar("T", bound="StationChannel")


@_attrs_define
class StationChannel:
    """
    Attributes:
        id (str):
        capacity_ah (float | None | Unset): Of the cell the station is configured for
        label (str | Unset):  Default: ''.
        limits (Limits | Unset): Operating limits; None: no limit from this side.
    """

    id: str
    capacity_ah: float | None | Unset = UNSET
    label: str | Unset = ""
    limits: Limits | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        capacity_ah: float | None | Unset
        if isinstance(self.capacity_ah, Unset):
            capacity_ah = UNSET
        else:
            capacity_ah = self.capacity_ah

        label = self.label

        limits: dict[str, Any] | Unset = UNSET
        if not isinstance(self.limits, Unset):
            limits = self.limits.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
            }
        )
        if capacity_ah is not UNSET:
            field_dict["capacity_ah"] = capacity_ah
        if label is not UNSET:
            field_dict["label"] = label
        if limits is not UNSET:
            field_dict["limits"] = limits

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.limits import Limits

        d = dict(src_dict)
        id = d.pop("id")

        def _parse_capacity_ah(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        capacity_ah = _parse_capacity_ah(d.pop("capacity_ah", UNSET))

        label = d.pop("label", UNSET)

        _limits = d.pop("limits", UNSET)
        limits: Limits | Unset
        if isinstance(_limits, Unset):
            limits = UNSET
        else:
            limits = Limits.from_dict(_limits)

        station_channel = cls(
            id=id,
            capacity_ah=capacity_ah,
            label=label,
            limits=limits,
        )

        return station_channel
