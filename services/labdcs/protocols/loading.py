"""Loading a protocol from whatever people hand us (a mapping, JSON or YAML text, the text form),
with errors that name the step (``step 2.1: ...``) instead of pydantic's locations."""

from __future__ import annotations

import json
from typing import Any

import yaml
from pydantic import ValidationError

from labdcs.protocols.model import Protocol


class ProtocolError(ValueError):
    """A document that is not a protocol at all; ``problems`` lists what is wrong, by step."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _path_of(loc: tuple[int | str, ...]) -> tuple[str, tuple[int | str, ...]]:
    """Turn a pydantic location (``steps, 1, loop, steps, 0, cc, until, 0``) into (``step 2.1``, rest)."""
    numbers: list[str] = []
    index = 0
    while index + 1 < len(loc) and loc[index] == "steps" and isinstance(loc[index + 1], int):
        numbers.append(str(int(loc[index + 1]) + 1))
        index += 2
        if index < len(loc) and isinstance(loc[index], str) and loc[index] in _STEP_TYPES:
            index += 1
    if not numbers:
        return "protocol", loc
    return f"step {'.'.join(numbers)}", loc[index:]


_STEP_TYPES = {"rest", "cc", "cv", "cccv", "cp", "pulse", "loop"}


def load(document: Any) -> Protocol:
    """A protocol from a mapping, JSON/YAML text or the text form; ProtocolError names steps."""
    if isinstance(document, bytes):
        document = document.decode()
    if isinstance(document, str):
        document = _parse_text(document)
        if isinstance(document, Protocol):
            return document
    if not isinstance(document, dict):
        raise ProtocolError([f"protocol: expected a mapping, got {type(document).__name__}"])
    try:
        return Protocol.model_validate(document)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            where, rest = _path_of(tuple(error["loc"]))
            detail = ".".join(str(part) for part in rest)
            problems.append(f"{where}: {detail + ': ' if detail else ''}{error['msg']}")
        raise ProtocolError(problems) from None


def _parse_text(text: str) -> Any:
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProtocolError([f"protocol: malformed JSON: {exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None
    if isinstance(data, dict) and "steps" in data:
        return data
    from labdcs.protocols.text import TextError, parse

    try:
        return parse(text)
    except TextError as exc:
        raise ProtocolError([str(exc)]) from None
