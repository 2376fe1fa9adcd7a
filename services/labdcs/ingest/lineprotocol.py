"""InfluxDB line protocol: the one wire format every InfluxDB (1.x, 2.x compat, 3.x) accepts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

FieldValue = float | int | bool | str


@dataclass(frozen=True, slots=True)
class Point:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, FieldValue]
    ts_ms: int

    def line(self) -> str:
        """The point as one line of line protocol (millisecond precision)."""
        prefix = _series(self.measurement, tuple(self.tags.items()))
        parts = []
        for key, value in self.fields.items():
            kind = type(value)  # inlined for the common types: this runs for every field of every point
            if kind is float and math.isfinite(value):  # type: ignore[arg-type]
                parts.append(f"{_escape_key(key)}={value!r}")
            elif kind is bool:
                parts.append(f"{_escape_key(key)}={'true' if value else 'false'}")
            elif kind is int:
                parts.append(f"{_escape_key(key)}={value}i")
            elif kind is str and not _NEEDS_ESCAPE.intersection(value):  # type: ignore[arg-type]
                parts.append(f'{_escape_key(key)}="{value}"')
            else:
                parts.append(f"{_escape_key(key)}={_field(value)}")
        fields = ",".join(parts)
        return f"{prefix} {fields} {self.ts_ms}"


#: Characters a string field value must escape.
_NEEDS_ESCAPE = frozenset('\\"\n')

#: Names and tag values repeat (device, channel, field names): escaped once each, at most this many.
_ESCAPED_CACHE = 4096


@lru_cache(maxsize=_ESCAPED_CACHE)
def _series(measurement: str, tags: tuple[tuple[str, str], ...]) -> str:
    """The escaped measurement and sorted tags of a line: the same for every point of a series."""
    escaped = "".join(
        f",{_escape_key(key)}={_escape_key(value)}" for key, value in sorted(tags) if value != ""
    )
    return f"{_escape_measurement(measurement)}{escaped}"


@lru_cache(maxsize=_ESCAPED_CACHE)
def _escape_measurement(name: str) -> str:
    return name.replace("\\", "\\\\").replace(",", "\\,").replace(" ", "\\ ")


@lru_cache(maxsize=_ESCAPED_CACHE)
def _escape_key(name: str) -> str:
    return name.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _field(value: FieldValue) -> str:
    kind = type(value)
    if kind is float:  # the common case first, by exact type (a point holds mostly floats)
        if not math.isfinite(value):  # type: ignore[arg-type]
            raise ValueError(f"line protocol has no spelling for {value}")
        return repr(value)
    # bool before int: bool is a subclass of int in Python.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"line protocol has no spelling for {value}")
        return repr(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
