"""Encoding and schema-checked decoding of contract messages.

Everything that reads the contract goes through :func:`decode`, so a malformed message is refused
in one place, with an error that names the topic, the field and the problem.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from labdcs.contract import topics
from labdcs.contract.models import (
    CHANNEL_STATE,
    Ack,
    Alarm,
    Command,
    CyclerChannelState,
    CyclerStats,
    DeviceMeta,
    Heartbeat,
    Online,
    PowerChannelState,
    RuleState,
    SensorChannelState,
)
from labdcs.contract.topics import TopicInfo, TopicKind

Message = (
    DeviceMeta
    | Online
    | PowerChannelState
    | SensorChannelState
    | CyclerChannelState
    | RuleState
    | Command
    | Ack
    | Alarm
    | CyclerStats
    | Heartbeat
)

_ADAPTERS: dict[TopicKind, TypeAdapter[Any]] = {
    TopicKind.META: TypeAdapter(DeviceMeta),
    TopicKind.ONLINE: TypeAdapter(Online),
    TopicKind.STATE: CHANNEL_STATE,
    TopicKind.COMMAND: TypeAdapter(Command),
    TopicKind.ACK: TypeAdapter(Ack),
    TopicKind.ALARM: TypeAdapter(Alarm),
    TopicKind.STATS: TypeAdapter(CyclerStats),
    TopicKind.ALARM_COMMAND: TypeAdapter(Command),
    TopicKind.HEARTBEAT: TypeAdapter(Heartbeat),
}


class ContractError(ValueError):
    """A message that does not follow the contract; ``str()`` is meant for a person."""

    def __init__(self, topic: str, problem: str, error_types: frozenset[str] = frozenset()) -> None:
        super().__init__(f"{topic}: {problem}")
        self.topic = topic
        self.problem = problem
        #: pydantic's error types (e.g. ``float_type``), empty for malformed JSON or unknown topics.
        self.error_types = error_types

    @property
    def is_type_conflict(self) -> bool:
        """Every problem is a value of the wrong type (what InfluxDB would call a field type conflict)."""
        return bool(self.error_types) and self.error_types <= _TYPE_ERRORS


_TYPE_ERRORS = frozenset(
    {
        "float_type",
        "float_parsing",
        "finite_number",
        "bool_type",
        "bool_parsing",
        "int_type",
        "int_parsing",
        "int_from_float",
        "string_type",
        "dict_type",
    }
)


def encode(message: BaseModel) -> bytes:
    """Serialise a contract model; absent optional fields are left out rather than sent as null."""
    return message.model_dump_json(exclude_none=True).encode()


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem: ``field.path: message (got value)``."""
    lines = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "message"
        got = item.get("input")
        shown = json.dumps(got)[:60] if isinstance(got, str | int | float | bool) else type(got).__name__
        lines.append(f"{where}: {item['msg']} (got {shown})")
    return "; ".join(lines)


def decode_as(kind: TopicKind, topic: str, payload: bytes | str) -> Message:
    """Parse a payload as the message the topic kind carries; ContractError when it does not fit."""
    try:
        data = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ContractError(topic, f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ContractError(topic, f"expected a JSON object, got {type(data).__name__}")
    try:
        # Strict JSON-mode validation: the types the JSON Schema promises, without coercion ("10" is
        # not a number, 1 is not a boolean, 1.0 is not a timestamp); an int is a valid float.
        message: Message = _ADAPTERS[kind].validate_json(payload, strict=True)
    except ValidationError as exc:
        error_types = frozenset(str(item["type"]) for item in exc.errors())
        raise ContractError(topic, describe_validation_error(exc), error_types) from None
    return message


def decode(topic: str, payload: bytes | str) -> tuple[TopicInfo, Message]:
    """Classify a topic and parse its payload; ContractError for unknown topics or bad payloads."""
    info = topics.parse(topic)
    if info is None:
        raise ContractError(topic, f"not a topic of the {topics.PREFIX} contract")
    return info, decode_as(info.kind, topic, payload)


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema (draft 2020-12) of every message, keyed by topic kind."""
    return {kind.value: adapter.json_schema(mode="serialization") for kind, adapter in _ADAPTERS.items()}
