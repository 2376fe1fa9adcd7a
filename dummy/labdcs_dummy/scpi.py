"""The common part of the simulated SCPI instruments: the parser, the error queue, the IEEE 488.2
common commands and the ``SIM:`` test control every model shares (see :mod:`labdcs_dummy.instruments`
for the dialect and the ``SIM:`` commands).

A model subclasses :class:`ScpiInstrument` and registers its commands with :func:`handles`; the
helpers here (``parse_number``, ``expect_arguments``, ``query_only``, ...) give every model the same
SCPI errors for the same mistakes.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

#: The value SCPI instruments send for "not a number / overflow".
SCPI_NAN = 9.91e37
ERROR_QUEUE_DEPTH = 10

H = TypeVar("H", bound=Callable[..., str | None])


class ScpiError(Exception):
    """A command the instrument rejects: goes to the error queue as ``code,"message"``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f'{code},"{message}"')
        self.code = code
        self.message = message


def undefined_header() -> ScpiError:
    return ScpiError(-113, "Undefined header")


def handles(*patterns: str) -> Callable[[H], H]:
    """Register a method for SCPI headers, written like the manuals: ``[SOURce]:VOLTage:[LEVel]``.

    Brackets mark optional nodes; upper-case letters are the short form. The method receives the
    argument list and whether the header ended in ``?``.
    """

    def register(method: H) -> H:
        existing: list[str] = getattr(method, "_scpi_patterns", [])
        method._scpi_patterns = [*existing, *patterns]  # type: ignore[attr-defined]
        return method

    return register


@dataclass(frozen=True)
class _Mnemonic:
    short: str
    long: str
    optional: bool


def _compile(pattern: str) -> tuple[_Mnemonic, ...]:
    nodes: list[_Mnemonic] = []
    for part in pattern.split(":"):
        optional = part.startswith("[") and part.endswith("]")
        name = part.strip("[]")
        short = "".join(c for c in name if c.isupper() or c.isdigit() or c == "*")
        nodes.append(_Mnemonic(short=short, long=name.upper(), optional=optional))
    return tuple(nodes)


def _token_matches(token: str, node: _Mnemonic) -> bool:
    if token in (node.short, node.long):
        return True
    # A numeric suffix of 1 (OUTPut1, SOURce1) is the default instance of the node.
    return token.endswith("1") and token[:-1] in (node.short, node.long)


def _matches(nodes: tuple[_Mnemonic, ...], tokens: list[str]) -> bool:
    if not nodes:
        return not tokens
    node = nodes[0]
    if tokens and _token_matches(tokens[0], node) and _matches(nodes[1:], tokens[1:]):
        return True
    return node.optional and _matches(nodes[1:], tokens)


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split on ``separator`` except inside quotes or parentheses (channel lists)."""
    if "'" not in text and '"' not in text and "(" not in text:
        return text.split(separator)  # nothing to step around (most messages): the fast way
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    depth = 0
    for char in text:
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == separator and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def parse_arguments(text: str) -> list[str]:
    """The comma-separated parameters of one command, stripped, quotes removed."""
    if not text.strip():
        return []
    return [part.strip().strip("'\"") for part in _split_outside_quotes(text, ",")]


def parse_channel_list(text: str) -> list[int]:
    """``(@1)``, ``(@1,3)``, ``(@1:3)`` -> channel numbers."""
    body = text.strip()
    if not (body.startswith("(@") and body.endswith(")")):
        raise ScpiError(-104, "Data type error; expected a channel list (@n)")
    channels: list[int] = []
    try:
        for item in body[2:-1].split(","):
            if ":" in item:
                first, last = (int(v) for v in item.split(":"))
                channels.extend(range(first, last + 1))
            elif item.strip():
                channels.append(int(item))
    except ValueError:
        raise ScpiError(-104, "Data type error; bad channel list") from None
    return channels


def parse_bool(text: str) -> bool:
    word = text.strip().upper()
    if word in ("ON", "1", "1.0"):
        return True
    if word in ("OFF", "0", "0.0"):
        return False
    raise ScpiError(-224, "Illegal parameter value; expected ON|OFF|1|0")


def parse_number(text: str, minimum: float, maximum: float, default: float | None = None) -> float:
    """A numeric parameter, with the SCPI keywords MIN, MAX, DEF; range-checked (-222)."""
    word = text.strip().upper()
    if word in ("MIN", "MINIMUM"):
        return minimum
    if word in ("MAX", "MAXIMUM"):
        return maximum
    if word in ("DEF", "DEFAULT") and default is not None:
        return default
    try:
        value = float(word)
    except ValueError:
        raise ScpiError(-104, "Data type error; expected a number") from None
    if not math.isfinite(value):
        raise ScpiError(-104, "Data type error; expected a finite number")
    if not minimum <= value <= maximum:
        raise ScpiError(-222, "Data out of range")
    return value


def expect_arguments(args: list[str], count: int) -> None:
    if len(args) < count:
        raise ScpiError(-109, "Missing parameter")
    if len(args) > count:
        raise ScpiError(-108, "Parameter not allowed")


def no_query(query: bool) -> None:
    if query:
        raise undefined_header()


def require_query(query: bool) -> None:
    if not query:
        raise undefined_header()


def query_only(query: bool, args: list[str]) -> None:
    if not query:
        raise undefined_header()
    if args:
        raise ScpiError(-108, "Parameter not allowed")


def sci(value: float) -> str:
    """Keithley-style number: ``+1.000000E+02``."""
    return f"{value:+.6E}"


def on_off(value: bool) -> str:
    return "1" if value else "0"


_MAX_RESOLVED = 1024


class ScpiInstrument:
    """Common part: parser, error queue, IEEE 488.2 common commands, SIM:MUTE and SIM:NOISE.

    Thread-safe: the TCP server may serve several connections to one instrument, as a LAN
    instrument does.
    """

    idn: ClassVar[str] = "LABDCS,SCPI-MODEL,0,0.0"
    _registry: ClassVar[list[tuple[tuple[_Mnemonic, ...], str]]] = []
    #: Header (without ``:`` and ``?``) -> the attribute handling it: a simulation at ``speed: max``
    #: sends the same few headers tens of thousands of times a second, and matching them against
    #: the whole table was most of its cost. Bounded: headers are few, garbage is not kept.
    _resolved: ClassVar[dict[str, str]] = {}

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.RLock()
        self.rng = random.Random(seed)
        self.muted = False
        self.noise = True
        self.errors: deque[tuple[int, str]] = deque()
        self.event_status = 0
        self.started = time.monotonic()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: list[tuple[tuple[_Mnemonic, ...], str]] = []
        seen: set[str] = set()
        for klass in cls.__mro__:  # subclass definitions first: they take precedence
            for attribute, member in vars(klass).items():
                if attribute in seen:
                    continue
                for pattern in getattr(member, "_scpi_patterns", ()):
                    table.append((_compile(pattern), attribute))
                seen.add(attribute)
        cls._registry = table
        cls._resolved = {}

    # --- parser -----------------------------------------------------------------------------

    def handle(self, message: str) -> str | None:
        """Execute one program message; the reply (without terminator), or None when none is due."""
        replies: list[str] = []
        with self._lock:
            for unit in _split_outside_quotes(message.strip(), ";"):
                unit = unit.strip()
                if not unit:
                    continue
                header, _, arguments = unit.partition(" ")
                header = header.strip().upper()
                if self.muted and not header.lstrip(":").startswith("SIM:"):
                    continue
                try:
                    reply = self._dispatch(header, parse_arguments(arguments))
                except ScpiError as error:
                    self.push_error(error.code, error.message)
                    continue
                if reply is not None:
                    replies.append(reply)
        return ";".join(replies) if replies else None

    def _dispatch(self, header: str, args: list[str]) -> str | None:
        query = header.endswith("?")
        key = header.lstrip(":").rstrip("?")
        attribute = self._resolved.get(key)
        if attribute is None:
            tokens = key.split(":")
            attribute = next((name for nodes, name in self._registry if _matches(nodes, tokens)), None)
            if attribute is None:
                raise undefined_header()
            if len(self._resolved) < _MAX_RESOLVED:
                self._resolved[key] = attribute
        method: Callable[[list[str], bool], str | None] = getattr(self, attribute)
        return method(args, query)

    def push_error(self, code: int, message: str) -> None:
        if len(self.errors) >= ERROR_QUEUE_DEPTH:
            self.errors[-1] = (-350, "Queue overflow")
        else:
            self.errors.append((code, message))
        if -199 <= code <= -100:
            self.event_status |= 1 << 5  # command error
        elif -299 <= code <= -200:
            self.event_status |= 1 << 4  # execution error
        elif -499 <= code <= -400:
            self.event_status |= 1 << 2  # query error
        else:
            self.event_status |= 1 << 3  # device-dependent error

    def gauss(self, sigma: float) -> float:
        """Measurement noise (zero when SIM:NOISE OFF)."""
        return self.rng.gauss(0.0, sigma) if self.noise and sigma > 0 else 0.0

    def reset(self) -> None:
        """*RST: back to power-on settings (the load and SIM: state are the bench, not the instrument)."""

    # --- IEEE 488.2 common commands and SYSTem --------------------------------------------------

    @handles("*IDN")
    def _idn(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        return self.idn

    @handles("*RST")
    def _rst(self, args: list[str], query: bool) -> str | None:
        no_query(query)
        self.reset()
        return None

    @handles("*CLS")
    def _cls(self, args: list[str], query: bool) -> str | None:
        no_query(query)
        self.errors.clear()
        self.event_status = 0
        return None

    @handles("*OPC")
    def _opc(self, args: list[str], query: bool) -> str | None:
        return "1" if query else None

    @handles("*WAI")
    def _wai(self, args: list[str], query: bool) -> str | None:
        no_query(query)
        return None

    @handles("*ESR")
    def _esr(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        value, self.event_status = self.event_status, 0
        return str(value)

    @handles("*STB")
    def _stb(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        return str((4 if self.errors else 0) | (32 if self.event_status else 0))

    @handles("SYSTem:ERRor:[NEXT]")
    def _system_error(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        code, message = self.errors.popleft() if self.errors else (0, "No error")
        return f'{code},"{message}"'

    @handles("SYSTem:VERSion")
    def _system_version(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        return "1999.0"

    # --- test control -----------------------------------------------------------------------

    @handles("SIM:MUTE")
    def _sim_mute(self, args: list[str], query: bool) -> str | None:
        if query:
            return on_off(self.muted)
        expect_arguments(args, 1)
        self.muted = parse_bool(args[0])
        return None

    @handles("SIM:NOISE")
    def _sim_noise(self, args: list[str], query: bool) -> str | None:
        if query:
            return on_off(self.noise)
        expect_arguments(args, 1)
        self.noise = parse_bool(args[0])
        return None

    def _sim_channel(self, args: list[str], channels: range, position: int) -> int:
        """The channel named by an optional ``(@n)`` argument at ``position`` (default: first)."""
        if len(args) <= position:
            return channels.start
        if len(args) > position + 1:
            raise ScpiError(-108, "Parameter not allowed")
        selected = parse_channel_list(args[position])
        if len(selected) != 1 or selected[0] not in channels:
            raise ScpiError(-222, "Data out of range; no such channel")
        return selected[0]
