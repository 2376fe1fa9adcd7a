from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.experiment import Experiment
    from ..models.station import Station


T = TypeVar("T", bound="StationView")


@_attrs_define
class StationView:
    """
    Attributes:
        active (list[Experiment]):
        queued (list[Experiment]):
        station (Station): A battery station (a cycler device of the contract): known from its retained meta.
    """

    active: list[Experiment]
    queued: list[Experiment]
    station: Station
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        active = []
        for active_item_data in self.active:
            active_item = active_item_data.to_dict()
            active.append(active_item)

        queued = []
        for queued_item_data in self.queued:
            queued_item = queued_item_data.to_dict()
            queued.append(queued_item)

        station = self.station.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "active": active,
                "queued": queued,
                "station": station,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.experiment import Experiment
        from ..models.station import Station

        d = dict(src_dict)
        active = []
        _active = d.pop("active")
        for active_item_data in _active:
            active_item = Experiment.from_dict(active_item_data)

            active.append(active_item)

        queued = []
        _queued = d.pop("queued")
        for queued_item_data in _queued:
            queued_item = Experiment.from_dict(queued_item_data)

            queued.append(queued_item)

        station = Station.from_dict(d.pop("station"))

        station_view = cls(
            active=active,
            queued=queued,
            station=station,
        )

        station_view.additional_properties = d
        return station_view

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
