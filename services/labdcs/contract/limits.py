"""How big a legitimate contract message can be, so every reader (and the broker) can refuse a bigger one.

The bounds come from what the contract lets a participant say: ids are at most
:data:`MAX_IDENT_LENGTH` characters (``IDENT_PATTERN``), a device declares at most
:data:`MAX_CHANNELS_PER_DEVICE` channels (the device configs and the interlock's rules file enforce
it), text people write in a config (labels, descriptions, models) is at most :data:`MAX_LABEL_LENGTH`
characters, a rule acts on at most :data:`MAX_RULE_TARGETS` channels and a ``load_protocol`` command
carries at most :data:`MAX_PROTOCOL_BYTES` of protocol.

The largest message of each kind built from those bounds (``tests/contract/test_contract_limits.py``
builds them with the services' own meta builders and measures them) times :data:`MARGIN` gives the
per-kind budgets below; :data:`MAX_MESSAGE_BYTES`, the largest of them, is the broker's
``message_size_limit``. Measured largest (bytes, encoded JSON, every character of free text one that
JSON escapes to six bytes): meta 393,297 (128 power channels), command 263,424 (a 256 KiB protocol),
rule state 41,098 (128 targets), power state 18,433, stats 7,282, alarm 7,159.
"""

from __future__ import annotations

from typing import Final

from labdcs.contract.topics import TopicKind

KIB: Final = 1024
MIB: Final = 1024 * KIB

#: Device, channel, alarm ids and verbs (``IDENT_PATTERN``).
MAX_IDENT_LENGTH: Final = 63
#: Channels one device declares in its meta (rules of the interlock); configs refuse more.
MAX_CHANNELS_PER_DEVICE: Final = 128
#: Free text a config carries into messages: channel labels, descriptions, model names.
MAX_LABEL_LENGTH: Final = 200
#: Retained alarms one device keeps (a few per channel: trip, order, safety, limits; and its own).
MAX_ALARMS_PER_DEVICE: Final = 4 * MAX_CHANNELS_PER_DEVICE + 32
#: Channels one interlock rule names (ramp_down, switch_off, inhibit and hold together).
MAX_RULE_TARGETS: Final = 128
#: A ``load_protocol`` command's protocol, as JSON or text.
MAX_PROTOCOL_BYTES: Final = 256 * KIB
#: Text a service composes (reasons, alarm messages, rule details): longer is cut, not refused.
MAX_TEXT_LENGTH: Final = 1000

#: Each budget is at least this many times the largest legitimate message of its kind.
MARGIN: Final = 2

MAX_META_BYTES: Final = 1 * MIB
MAX_COMMAND_BYTES: Final = 1 * MIB
MAX_STATE_BYTES: Final = 128 * KIB
MAX_STATS_BYTES: Final = 32 * KIB
#: A batch of states (``.../<channel>/states``): senders end a batch before it grows past this.
MAX_STATES_BYTES: Final = 1 * MIB
#: online, ack, alarm, heartbeat: small by construction.
MAX_SMALL_BYTES: Final = 16 * KIB

#: The broker's message size limit: no legitimate message is bigger.
MAX_MESSAGE_BYTES: Final = max(
    MAX_META_BYTES, MAX_COMMAND_BYTES, MAX_STATE_BYTES, MAX_STATS_BYTES, MAX_STATES_BYTES
)

_BY_KIND: Final = {
    TopicKind.META: MAX_META_BYTES,
    TopicKind.STATE: MAX_STATE_BYTES,
    TopicKind.STATS: MAX_STATS_BYTES,
    TopicKind.STATES: MAX_STATES_BYTES,
    TopicKind.COMMAND: MAX_COMMAND_BYTES,
    TopicKind.ALARM_COMMAND: MAX_SMALL_BYTES,
    TopicKind.ONLINE: MAX_SMALL_BYTES,
    TopicKind.ACK: MAX_SMALL_BYTES,
    TopicKind.ALARM: MAX_SMALL_BYTES,
    TopicKind.HEARTBEAT: MAX_SMALL_BYTES,
}


def max_bytes(kind: TopicKind) -> int:
    """The largest payload a reader accepts on a topic of this kind (bytes)."""
    return _BY_KIND.get(kind, MAX_MESSAGE_BYTES)


def too_big(kind: TopicKind, size: int) -> str | None:
    """Why a payload of ``size`` bytes is refused on a topic of this kind, or None when it fits."""
    limit = max_bytes(kind)
    if size <= limit:
        return None
    return f"the {kind.value} message is {size:,} bytes, more than the contract's {limit:,}"
