"""The labdcs MQTT contract (version 1): topics, payload models, codec and the generated AsyncAPI.

This package is the project's public API. See ``docs/contract.md`` and ``docs/asyncapi.yaml``.
"""

from labdcs.contract import topics
from labdcs.contract.codec import ContractError, decode, decode_as, encode, json_schemas
from labdcs.contract.models import (
    CONTRACT,
    Ack,
    AckResult,
    Alarm,
    ChannelKind,
    ChannelMeta,
    Command,
    CommandMeta,
    DeviceKind,
    DeviceMeta,
    InstrumentIdentity,
    Online,
    PowerChannelState,
    PowerLimits,
    PowerStatus,
    QuantityMeta,
    SensorChannelState,
    SensorStatus,
    Severity,
    Verb,
    now_ms,
)

__all__ = [
    "CONTRACT",
    "Ack",
    "AckResult",
    "Alarm",
    "ChannelKind",
    "ChannelMeta",
    "Command",
    "CommandMeta",
    "ContractError",
    "DeviceKind",
    "DeviceMeta",
    "InstrumentIdentity",
    "Online",
    "PowerChannelState",
    "PowerLimits",
    "PowerStatus",
    "QuantityMeta",
    "SensorChannelState",
    "SensorStatus",
    "Severity",
    "Verb",
    "decode",
    "decode_as",
    "encode",
    "json_schemas",
    "now_ms",
    "topics",
]
