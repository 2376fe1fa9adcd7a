from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.lab_event import LabEvent
    from ..models.quantity import Quantity


T = TypeVar("T", bound="LabContext")


@_attrs_define
class LabContext:
    """
    Attributes:
        environment (list[Quantity]):
        events (list[LabEvent]):
        rules (list[str]): Interlock rules concerning the station (device/rule)
        sensors (list[str]): The environment sensors configured for the station
        truncated (bool | Unset): More events than listed Default: False.
    """

    environment: list[Quantity]
    events: list[LabEvent]
    rules: list[str]
    sensors: list[str]
    truncated: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        environment = []
        for environment_item_data in self.environment:
            environment_item = environment_item_data.to_dict()
            environment.append(environment_item)

        events = []
        for events_item_data in self.events:
            events_item = events_item_data.to_dict()
            events.append(events_item)

        rules = self.rules

        sensors = self.sensors

        truncated = self.truncated

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "environment": environment,
                "events": events,
                "rules": rules,
                "sensors": sensors,
            }
        )
        if truncated is not UNSET:
            field_dict["truncated"] = truncated

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.lab_event import LabEvent
        from ..models.quantity import Quantity

        d = dict(src_dict)
        environment = []
        _environment = d.pop("environment")
        for environment_item_data in _environment:
            environment_item = Quantity.from_dict(environment_item_data)

            environment.append(environment_item)

        events = []
        _events = d.pop("events")
        for events_item_data in _events:
            events_item = LabEvent.from_dict(events_item_data)

            events.append(events_item)

        rules = cast(list[str], d.pop("rules"))

        sensors = cast(list[str], d.pop("sensors"))

        truncated = d.pop("truncated", UNSET)

        lab_context = cls(
            environment=environment,
            events=events,
            rules=rules,
            sensors=sensors,
            truncated=truncated,
        )

        lab_context.additional_properties = d
        return lab_context

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
