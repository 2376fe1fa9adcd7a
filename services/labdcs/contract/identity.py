"""The topic is the identity: who a message is from, and about which channel, is its topic's.

The broker's ACL lets a device's credential publish only under ``labdcs/v1/<its device>/``, so the
topic is the one thing about a message another peer cannot forge. A payload that names a device,
alarm or channel other than its topic's is refused here (:func:`mismatch`, called by
:func:`~labdcs.contract.codec.decode` for every reader), and a stats or state that names an
experiment is believed only when that experiment runs on the topic's station and channel
(:func:`foreign_run`, for the readers that know which experiment runs where).

:class:`Declared` keeps what each device's retained meta declares, so a reader takes states and
stats only for those channels (at most :data:`~labdcs.contract.limits.MAX_CHANNELS_PER_DEVICE` of
them) and forgets a device's channels when its meta is cleared. Every reader keeps per-device
data only for declared channels, which bounds it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from pydantic import BaseModel

from labdcs.contract.batch import CyclerStateBatch
from labdcs.contract.limits import MAX_CHANNELS_PER_DEVICE
from labdcs.contract.models import (
    Ack,
    Alarm,
    ChannelKind,
    CyclerChannelState,
    CyclerStats,
    DeviceMeta,
    PowerChannelState,
    RuleState,
    SensorChannelState,
)
from labdcs.contract.topics import TopicInfo, TopicKind

#: Devices a reader keeps declarations of; beyond it the one heard of longest ago is forgotten.
MAX_DEVICES: Final = 4096

_STATE_KINDS: Final[dict[type[BaseModel], ChannelKind]] = {
    PowerChannelState: ChannelKind.POWER,
    SensorChannelState: ChannelKind.SENSOR,
    CyclerChannelState: ChannelKind.CYCLER,
    RuleState: ChannelKind.RULE,
}


#: Topic kinds that speak for one channel, taken only from channels the device's meta declares.
_CHANNEL_KINDS: Final = (TopicKind.STATE, TopicKind.STATS, TopicKind.STATES)


def mismatch(info: TopicInfo, message: BaseModel) -> str | None:
    """Why a decoded payload names another device, alarm or channel than its topic, or None."""
    named: list[tuple[str, str | None, str]] = []
    if isinstance(message, DeviceMeta):
        named.append(("device", message.device, info.device))
        ids = [channel.id for channel in message.channels]
        if len(set(ids)) != len(ids):
            return f"the meta of '{info.device}' declares a channel twice"
        if len(ids) > MAX_CHANNELS_PER_DEVICE:
            return (
                f"the meta of '{info.device}' declares {len(ids)} channels; the contract allows "
                f"{MAX_CHANNELS_PER_DEVICE}"
            )
    elif isinstance(message, Ack):
        named.append(("device", message.device, info.device))
    elif isinstance(message, Alarm):
        named.append(("device", message.device, info.device))
        named.append(("alarm", message.alarm, info.alarm or ""))
    for what, claimed, topic_value in named:
        if claimed != topic_value:
            return (
                f"the {info.kind.value} message names {what} '{claimed}' but came on the topic of "
                f"{what} '{topic_value}'"
            )
    return None


def foreign_run(info: TopicInfo, experiment: str, station: str, channel: str) -> str | None:
    """Why a state or stats from ``info``'s topic must not count for ``experiment`` (which runs on
    ``station``/``channel``), or None when it comes from there."""
    if (info.device, info.channel) == (station, channel):
        return None
    return (
        f"'{info.device}/{info.channel}' sent {info.kind.value} naming experiment '{experiment}', which "
        f"runs on '{station}/{channel}'"
    )


class Declared:
    """The channels each device's retained meta declares, with their kinds (bounded, see above)."""

    def __init__(self, max_devices: int = MAX_DEVICES) -> None:
        self.max_devices = max_devices
        self._devices: OrderedDict[str, dict[str, ChannelKind]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._devices)

    def __contains__(self, device: object) -> bool:
        return device in self._devices

    def channels(self, device: str) -> dict[str, ChannelKind]:
        return dict(self._devices.get(device, {}))

    def update(self, device: str, meta: DeviceMeta | None) -> set[str]:
        """Take a device's meta (None: cleared); returns the channels it no longer declares."""
        before = set(self._devices.pop(device, {}))
        if meta is None:
            return before
        declared = {channel.id: channel.kind for channel in meta.channels[:MAX_CHANNELS_PER_DEVICE]}
        self._devices[device] = declared
        while len(self._devices) > self.max_devices:
            self._devices.popitem(last=False)
        return before - set(declared)

    def undeclared(self, info: TopicInfo, message: BaseModel | None = None) -> str | None:
        """Why a state or stats is not from a channel the device declares (of its kind), or None."""
        if info.kind not in _CHANNEL_KINDS or info.channel is None:
            return None
        declared = self._devices.get(info.device)
        if declared is None:
            return f"'{info.device}' has no meta: its {info.kind.value} for '{info.channel}' is not taken"
        kind = declared.get(info.channel)
        if kind is None:
            return f"'{info.device}' does not declare a channel '{info.channel}' in its meta"
        cycler = isinstance(message, CyclerStats | CyclerStateBatch)
        expected = ChannelKind.CYCLER if cycler else _kind_of(message)
        if expected is not None and expected is not kind:
            where = f"'{info.device}/{info.channel}'"
            return f"{where} is a {kind.value} channel in its meta, not a {expected.value} one"
        return None


def _kind_of(message: BaseModel | None) -> ChannelKind | None:
    return None if message is None else _STATE_KINDS.get(type(message))
