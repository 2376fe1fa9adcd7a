"""Encoding and schema-checked decoding of contract messages.

Everything that reads the contract goes through :func:`decode`, so a malformed message is refused
in one place, with an error that names the topic, the field and the problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from labdcs.contract import identity, limits, topics
from labdcs.contract.batch import CyclerStateBatch
from labdcs.contract.models import (
    CHANNEL_STATE,
    Ack,
    Alarm,
    AlarmCommand,
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
    | CyclerStateBatch
)

_ADAPTERS: dict[TopicKind, TypeAdapter[Any]] = {
    TopicKind.META: TypeAdapter(DeviceMeta),
    TopicKind.ONLINE: TypeAdapter(Online),
    TopicKind.STATE: CHANNEL_STATE,
    TopicKind.COMMAND: TypeAdapter(Command),
    TopicKind.ACK: TypeAdapter(Ack),
    TopicKind.ALARM: TypeAdapter(Alarm),
    TopicKind.STATS: TypeAdapter(CyclerStats),
    TopicKind.ALARM_COMMAND: TypeAdapter(AlarmCommand),
    TopicKind.HEARTBEAT: TypeAdapter(Heartbeat),
    TopicKind.STATES: TypeAdapter(CyclerStateBatch),
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


class OversizeError(ContractError):
    """A payload bigger than the contract allows on its topic: refused before it is parsed."""


class IdentityError(ContractError):
    """A payload that names another device, alarm or channel than its topic (a forgery or a bug)."""


class UndeclaredError(ContractError):
    """A state or stats for a channel its device's retained meta does not declare (of that kind)."""


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


#: What a value must be, by pydantic's error type: the alternatives of a union are joined with "or".
_EXPECTED = {
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "bool_type": "a boolean (true or false)",
    "bool_parsing": "a boolean (true or false)",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "string_type": "a string",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "a list",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
    "string_too_long": ("max_length", "at most {} characters long"),
    "string_too_short": ("min_length", "at least {} characters long"),
}


def _shown(value: Any) -> str:
    return json.dumps(value)[:60] if isinstance(value, str | int | float | bool) else type(value).__name__


def _field_path(loc: Sequence[int | str], data: Any) -> list[int | str]:
    """The loc without pydantic's union tags (``value.float``, ``power.v_set``): only the steps that
    exist in the message itself (and ``[key]``: the key itself is wrong)."""
    path: list[int | str] = []
    here = data
    for step in loc:
        in_dict = isinstance(here, dict) and step in here
        if in_dict or (isinstance(here, list) and isinstance(step, int) and 0 <= step < len(here)):
            here = here[step]
            path.append(step)
        elif step == "[key]":
            path.append(step)
    return path


def _render(path: Sequence[int | str]) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def _problem(kind: str, where: str, given: Any, ctx: dict[str, Any], message: str) -> str:
    """One problem other than a missing field or a value of the wrong type, as a sentence."""
    if kind in ("enum", "literal_error"):
        return f"{where} must be {ctx.get('expected', 'one of the allowed values')} (got {_shown(given)})"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return f"{where} must not be empty"
    if kind in _BOUNDS:
        name, wording = _BOUNDS[kind]
        bound = ctx.get(name)
        return f"{where} must be " + (wording.format(bound) if "{}" in wording else f"{wording} {bound}")
    if kind == "string_pattern_mismatch":
        return f"{where} must match {ctx.get('pattern')} (got {_shown(given)})"
    field = str(ctx.get("discriminator", "kind")).strip("'")
    if kind == "union_tag_invalid":
        tags = ", ".join(re.findall(r"'([^']*)'>", str(ctx.get("expected_tags", ""))))
        return f"{where}'s {field} must be one of {tags} (got {_shown(ctx.get('tag'))})"
    if kind == "union_tag_not_found":
        return f"{where} has no {field}"
    return f"{where}: {message} (got {_shown(given)})"


def sentences(error: ValidationError, data: Any, subject: str = "the message") -> str:
    """Every problem of a message as a sentence for a person, without pydantic's wording or its union
    tags: ``the command has no id or ts``; ``value must be a number or a boolean (got "100")``.

    ``data``: the parsed message (to tell its fields from pydantic's union tags in an error's loc);
    ``subject``: how a sentence names the message itself."""
    # (form, where, got) -> what is missing there / what the value must be; dicts keep the order.
    groups: dict[tuple[str, str, str], list[str]] = {}
    for item in error.errors(include_url=False):
        kind, loc, ctx, given = str(item["type"]), item["loc"], item.get("ctx") or {}, item.get("input")
        if kind in ("missing", "extra_forbidden"):
            owner = _render(_field_path(loc[:-1], data)) or subject
            if kind == "missing":
                groups.setdefault(("missing", owner, ""), []).append(str(loc[-1]))
            else:
                groups.setdefault(("text", f"{owner} has an unknown field '{loc[-1]}'", ""), [])
            continue
        path = _field_path(loc, data)
        if path[-1:] == ["[key]"]:
            where = f"the key {_shown(given)} of {_render(path[:-2]) or subject}"
        else:
            where = _render(path) or subject
        if kind in _EXPECTED:
            groups.setdefault(("expected", where, _shown(given)), []).append(_EXPECTED[kind])
        else:
            groups.setdefault(("text", _problem(kind, where, given, ctx, str(item["msg"])), ""), [])
    lines = []
    for (form, where, got), parts in groups.items():
        if form == "missing":
            listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} or {parts[-1]}"
            lines.append(f"{where} has no {listed}")
        elif form == "expected":
            lines.append(f"{where} must be {' or '.join(dict.fromkeys(parts))} (got {got})")
        else:
            lines.append(where)
    return "; ".join(lines)


def decode_as(kind: TopicKind, topic: str, payload: bytes | str) -> Message:
    """Parse a payload as the message the topic kind carries; ContractError when it does not fit
    (OversizeError, before parsing, when it is bigger than the contract's budget for the kind)."""
    too_big = limits.too_big(kind, len(payload))
    if too_big is not None:
        raise OversizeError(topic, too_big)
    try:
        # Strict JSON-mode validation: the types the JSON Schema promises, without coercion ("10" is
        # not a number, 1 is not a boolean, 1.0 is not a timestamp); an int is a valid float. The
        # payload is parsed once on the good path; only a refused one is parsed again, for the words.
        message: Message = _ADAPTERS[kind].validate_json(payload, strict=True)
    except ValidationError as exc:
        try:
            data = json.loads(payload)
        except (json.JSONDecodeError, UnicodeDecodeError) as bad:
            raise ContractError(topic, f"malformed JSON: {bad}") from None
        if not isinstance(data, dict):
            raise ContractError(topic, f"expected a JSON object, got {type(data).__name__}") from None
        error_types = frozenset(str(item["type"]) for item in exc.errors())
        subject = "the command" if kind in (TopicKind.COMMAND, TopicKind.ALARM_COMMAND) else "the message"
        raise ContractError(topic, sentences(exc, data, subject), error_types) from None
    return message


def decode(topic: str, payload: bytes | str) -> tuple[TopicInfo, Message]:
    """Classify a topic and parse its payload; ContractError for unknown topics or bad payloads,
    IdentityError for a payload naming another device, alarm or channel than its topic."""
    info = topics.parse(topic)
    if info is None:
        raise ContractError(topic, f"not a topic of the {topics.PREFIX} contract")
    message = decode_as(info.kind, topic, payload)
    forged = identity.mismatch(info, message)
    if forged is not None:
        raise IdentityError(topic, forged)
    return info, message


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema (draft 2020-12) of every message, keyed by topic kind."""
    return {kind.value: adapter.json_schema(mode="serialization") for kind, adapter in _ADAPTERS.items()}
