"""Topic names of the labdcs MQTT contract, version 1.

Every topic lives under ``labdcs/v1/<device>/``: no leading slash, lowercase identifiers, one JSON
object per message. Builders and the parser live together so the scheme is written down once.

==============================================  ========  =====================================
topic                                           retained  payload (models in labdcs.contract.models)
==============================================  ========  =====================================
``labdcs/v1/<device>/meta``                     yes       DeviceMeta
``labdcs/v1/<device>/online``                   yes       Online (the last will sets it false)
``labdcs/v1/<device>/<channel>/state``          yes       PowerChannelState or SensorChannelState
``labdcs/v1/<device>/<channel>/cmd/<v>/<s>``    no        Command
``labdcs/v1/<device>/ack``                      no        Ack
``labdcs/v1/<device>/alarm/<alarm>``            yes       Alarm (its latest transition)
``labdcs/v1/<device>/alarm/<a>/cmd/<v>/<s>``    no        Command (acknowledge an alarm)
``labdcs/v1/<device>/heartbeat``                no        Heartbeat (the interlock service)
``labdcs/v1/<device>/<channel>/stats``          no        CyclerStats (end of each step and cycle)
``labdcs/v1/<device>/<channel>/states``         no        CyclerStateBatch (faster than real time)
==============================================  ========  =====================================

``<s>``, the last level of a command topic, is the sender: the broker login the command is published
through. The broker's ACL lets each login write only command topics ending in its own name, so a
device takes it as the authenticated principal (the ``user`` in the payload is only a claim).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

ROOT = "labdcs"
VERSION = "v1"
PREFIX = f"{ROOT}/{VERSION}"

#: Device, channel, alarm ids and verbs: lowercase, digits, ``_`` and ``-``; they become topic
#: levels and InfluxDB tag values, so no wildcards, slashes or spaces.
IDENT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_IDENT = re.compile(IDENT_PATTERN)

#: Topic levels that have a meaning right under a device, so they cannot be channel ids.
RESERVED_CHANNEL_IDS = frozenset({"meta", "online", "ack", "alarm", "cmd", "state", "events", "heartbeat"})


class TopicKind(StrEnum):
    META = "meta"
    ONLINE = "online"
    STATE = "state"
    STATES = "states"
    """A batch of states of one channel (contract 2.1.0): a simulation faster than real time."""
    COMMAND = "cmd"
    ACK = "ack"
    ALARM = "alarm"
    STATS = "stats"
    ALARM_COMMAND = "alarm_cmd"
    HEARTBEAT = "heartbeat"


@dataclass(frozen=True)
class TopicInfo:
    """What a contract topic addresses."""

    kind: TopicKind
    device: str
    channel: str | None = None
    verb: str | None = None
    alarm: str | None = None
    sender: str | None = None
    """Commands: the broker login that published it (the topic's last level, pinned by the ACL)."""


def is_ident(value: str) -> bool:
    """True when ``value`` is a valid device/channel/verb/alarm id."""
    # fullmatch: with match(), ``$`` also matches before a trailing newline ("hv1\n" passed).
    return _IDENT.fullmatch(value) is not None


def check_ident(value: str, what: str) -> str:
    """Return ``value`` or raise ValueError saying why it cannot be a topic level."""
    if not is_ident(value):
        raise ValueError(
            f"{what} {value!r} is not a valid id: use 1-63 characters a-z, 0-9, '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def meta(device: str) -> str:
    return f"{PREFIX}/{device}/meta"


def online(device: str) -> str:
    return f"{PREFIX}/{device}/online"


def state(device: str, channel: str) -> str:
    return f"{PREFIX}/{device}/{channel}/state"


def command(device: str, channel: str, verb: str, sender: str) -> str:
    """A channel command sent through the broker login ``sender`` (the ACL pins the level to it)."""
    return f"{PREFIX}/{device}/{channel}/cmd/{verb}/{sender}"


def ack(device: str) -> str:
    return f"{PREFIX}/{device}/ack"


def alarm(device: str, alarm_id: str) -> str:
    return f"{PREFIX}/{device}/alarm/{alarm_id}"


def stats(device: str, channel: str) -> str:
    return f"{PREFIX}/{device}/{channel}/stats"


def states(device: str, channel: str) -> str:
    """A batch of one channel's states, in order (:class:`~labdcs.contract.batch.CyclerStateBatch`)."""
    return f"{PREFIX}/{device}/{channel}/states"


def commands_of(device: str) -> str:
    """Subscription filter for every command addressed to one device, from any sender."""
    return f"{PREFIX}/{device}/+/cmd/+/+"


def alarm_command(device: str, alarm_id: str, verb: str, sender: str) -> str:
    """An alarm command (acknowledge) sent through the broker login ``sender``."""
    return f"{PREFIX}/{device}/alarm/{alarm_id}/cmd/{verb}/{sender}"


def alarm_commands_of(device: str) -> str:
    """Subscription filter for every alarm command (acknowledge) addressed to one device."""
    return f"{PREFIX}/{device}/alarm/+/cmd/+/+"


def heartbeat(device: str) -> str:
    return f"{PREFIX}/{device}/heartbeat"


#: Subscription filters for consumers.
ALL_META = f"{PREFIX}/+/meta"
ALL_ONLINE = f"{PREFIX}/+/online"
ALL_STATE = f"{PREFIX}/+/+/state"
ALL_ACKS = f"{PREFIX}/+/ack"
ALL_ALARMS = f"{PREFIX}/+/alarm/+"
ALL_COMMANDS = f"{PREFIX}/+/+/cmd/+/+"
ALL_STATS = f"{PREFIX}/+/+/stats"
ALL_STATES = f"{PREFIX}/+/+/states"
ALL_ALARM_COMMANDS = f"{PREFIX}/+/alarm/+/cmd/+/+"
ALL_HEARTBEATS = f"{PREFIX}/+/heartbeat"


@lru_cache(maxsize=8192)
def parse(topic: str) -> TopicInfo | None:
    """Classify a topic of this contract version; None for anything else. Remembered per topic (the
    result is immutable): the ingester classifies every message's topic, and topics repeat."""
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != ROOT or parts[1] != VERSION:
        return None
    device = parts[2]
    if not is_ident(device):
        return None
    rest = parts[3:]
    if rest == ["meta"]:
        return TopicInfo(TopicKind.META, device)
    if rest == ["online"]:
        return TopicInfo(TopicKind.ONLINE, device)
    if rest == ["ack"]:
        return TopicInfo(TopicKind.ACK, device)
    if rest == ["heartbeat"]:
        return TopicInfo(TopicKind.HEARTBEAT, device)
    if len(rest) == 2 and rest[0] == "alarm" and is_ident(rest[1]):
        return TopicInfo(TopicKind.ALARM, device, alarm=rest[1])
    if len(rest) == 5 and rest[0] == "alarm" and rest[2] == "cmd" and is_ident(rest[1]) and is_ident(rest[4]):
        # As for channel commands, the verb is returned even when it is not an id.
        return TopicInfo(TopicKind.ALARM_COMMAND, device, alarm=rest[1], verb=rest[3], sender=rest[4])
    channel = rest[0]
    if channel in RESERVED_CHANNEL_IDS or not is_ident(channel):
        return None
    if rest[1:] == ["state"]:
        return TopicInfo(TopicKind.STATE, device, channel=channel)
    if rest[1:] == ["states"]:
        return TopicInfo(TopicKind.STATES, device, channel=channel)
    if rest[1:] == ["stats"]:
        return TopicInfo(TopicKind.STATS, device, channel=channel)
    if len(rest) == 4 and rest[1] == "cmd" and is_ident(rest[3]):
        # The verb is returned even when it is not a valid id, so the device can reject it by name.
        # The sender must be one: it is a broker login. The old form without it (before contract
        # 2.0.0) is no topic of the contract: the ACL refuses it and no device subscribes to it.
        return TopicInfo(TopicKind.COMMAND, device, channel=channel, verb=rest[2], sender=rest[3])
    return None
