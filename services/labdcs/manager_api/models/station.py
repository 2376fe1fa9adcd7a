from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.station_channel import StationChannel


T = TypeVar("T", bound="Station")


@_attrs_define
class Station:
    """A battery station (a cycler device of the contract): known from its retained meta.

    Attributes:
        id (str):
        channels (list[StationChannel] | Unset):
        description (str | Unset):  Default: ''.
        devices (list[str] | Unset): Instruments (identity strings)
        driver (str | Unset):  Default: ''.
        model (str | Unset):  Default: ''.
        online (bool | Unset):  Default: False.
        schema_version (int | Unset):  Default: 2.
        seen (int | Unset): Last meta or online message
    """

    id: str
    channels: list[StationChannel] | Unset = UNSET
    description: str | Unset = ""
    devices: list[str] | Unset = UNSET
    driver: str | Unset = ""
    model: str | Unset = ""
    online: bool | Unset = False
    schema_version: int | Unset = 2
    seen: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        channels: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.channels, Unset):
            channels = []
            for channels_item_data in self.channels:
                channels_item = channels_item_data.to_dict()
                channels.append(channels_item)

        description = self.description

        devices: list[str] | Unset = UNSET
        if not isinstance(self.devices, Unset):
            devices = self.devices

        driver = self.driver

        model = self.model

        online = self.online

        schema_version = self.schema_version

        seen = self.seen

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
            }
        )
        if channels is not UNSET:
            field_dict["channels"] = channels
        if description is not UNSET:
            field_dict["description"] = description
        if devices is not UNSET:
            field_dict["devices"] = devices
        if driver is not UNSET:
            field_dict["driver"] = driver
        if model is not UNSET:
            field_dict["model"] = model
        if online is not UNSET:
            field_dict["online"] = online
        if schema_version is not UNSET:
            field_dict["schema_version"] = schema_version
        if seen is not UNSET:
            field_dict["seen"] = seen

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.station_channel import StationChannel

        d = dict(src_dict)
        id = d.pop("id")

        _channels = d.pop("channels", UNSET)
        channels: list[StationChannel] | Unset = UNSET
        if _channels is not UNSET:
            channels = []
            for channels_item_data in _channels:
                channels_item = StationChannel.from_dict(channels_item_data)

                channels.append(channels_item)

        description = d.pop("description", UNSET)

        devices = cast(list[str], d.pop("devices", UNSET))

        driver = d.pop("driver", UNSET)

        model = d.pop("model", UNSET)

        online = d.pop("online", UNSET)

        schema_version = d.pop("schema_version", UNSET)

        seen = d.pop("seen", UNSET)

        station = cls(
            id=id,
            channels=channels,
            description=description,
            devices=devices,
            driver=driver,
            model=model,
            online=online,
            schema_version=schema_version,
            seen=seen,
        )

        return station
