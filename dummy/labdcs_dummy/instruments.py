"""Behavioural models of the SCPI instruments labdcs drives, for tests and the dummy stack.

Each model takes one SCPI program message (a line, possibly several ``;``-separated commands)
and returns the reply line or None, like the instrument's parser behind its socket. They model
what the device services must cope with: readback that follows the setpoint with noise, a load
that draws current, compliance/current limiting, the instrument's own range limits, an error
queue (``SYST:ERR?``), and an instrument that stops answering.

Parsing follows SCPI far enough for what the drivers send: case-insensitive headers in short or
long form, optional nodes (``[SOURce]:VOLTage[:LEVel]``), a numeric suffix of 1, ``MIN``/``MAX``
numeric keywords, ``ON``/``OFF`` booleans, channel lists ``(@1,2)`` / ``(@1:3)``. Every command
after a ``;`` is taken as a full path from the root (the drivers always send full paths).

Test control lives under ``SIM:`` and works even while the instrument is muted:

============================  ===================================================================
``SIM:MUTE ON|OFF``           stop/resume answering (queries time out; settings are ignored)
``SIM:NOISE ON|OFF``          measurement noise on/off (on by default)
``SIM:LOAD <ohm>[,(@ch)]``    resistive load of an output (supplies)
``SIM:TEMP <degC>[,(@ch)]``   hold a head's temperature (env monitor) until ``SIM:DRIFT ON``
``SIM:HUM <pct>[,(@ch)]``     hold a head's humidity (env monitor) until ``SIM:DRIFT ON``
``SIM:DRIFT ON|OFF``          env monitor: release held values (ON) or freeze the present ones
============================  ===================================================================

Each has a query form (``SIM:LOAD? (@2)``).
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

__all__ = [
    "MODELS",
    "EnvMonModel",
    "HMP4040Model",
    "Keithley2410Model",
    "ScpiError",
    "ScpiInstrument",
    "create_model",
]

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


class ScpiInstrument:
    """Common part: parser, error queue, IEEE 488.2 common commands, SIM:MUTE and SIM:NOISE.

    Thread-safe: the TCP server may serve several connections to one instrument, as a LAN
    instrument does.
    """

    idn: ClassVar[str] = "LABDCS,SCPI-MODEL,0,0.0"
    _registry: ClassVar[list[tuple[tuple[_Mnemonic, ...], str]]] = []

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
        tokens = header.lstrip(":").rstrip("?").split(":")
        for nodes, attribute in self._registry:
            if _matches(nodes, tokens):
                method: Callable[[list[str], bool], str | None] = getattr(self, attribute)
                return method(args, query)
        raise undefined_header()

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


# --- Keithley 2410 ------------------------------------------------------------------------------


@dataclass
class _SourceMeterState:
    function: str = "VOLT"
    voltage: float = 0.0
    current: float = 0.0
    current_protection: float = 105e-6
    voltage_protection: float = 21.0
    output: bool = False
    elements: tuple[str, ...] = ("VOLT", "CURR", "RES", "TIME", "STAT")
    sense_functions: tuple[str, ...] = ("CURR",)
    concurrent: bool = True
    resistance_mode: str = "MAN"
    voltage_range: float = 21.0
    voltage_range_auto: bool = True


class Keithley2410Model(ScpiInstrument):
    """Keithley 2410 1100 V SourceMeter driving a resistive load (default 1 GΩ).

    Sources voltage (or current), limits at the compliance: when V/R exceeds it, the output
    voltage drops to I_limit·R and bit 3 of the reading status word is set. Enforces ±1100 V
    and ±1.05 A, and caps the compliance at 21 mA above 21 V (the 1000 V source range). The
    current reading carries ~1 nA of leakage noise.

    As on the real instrument, ``:READ?`` with the output off is an error (no reply), and
    ``:MEASure...?`` switches the output on before measuring.
    """

    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2410,4099999,C33   Mar 31 2015 09:32:39/A02  /S/K"
    MAX_VOLTAGE = 1100.0
    MAX_CURRENT = 1.05
    LOW_RANGE_MAX_VOLTAGE = 21.0
    HIGH_RANGE_MAX_CURRENT = 0.021
    LEAKAGE_NOISE_A = 1e-9
    STATUS_COMPLIANCE = 1 << 3
    STATUS_V_MEAS = 1 << 11
    STATUS_I_MEAS = 1 << 12
    STATUS_V_SOURCE = 1 << 14
    STATUS_I_SOURCE = 1 << 15
    _ELEMENT_NAMES: ClassVar[dict[str, str]] = {
        "VOLT": "VOLT",
        "VOLTAGE": "VOLT",
        "CURR": "CURR",
        "CURRENT": "CURR",
        "RES": "RES",
        "RESISTANCE": "RES",
        "TIME": "TIME",
        "STAT": "STAT",
        "STATUS": "STAT",
    }

    def __init__(self, seed: int | None = None, load_ohm: float = 1e9) -> None:
        super().__init__(seed)
        self.state = _SourceMeterState()
        self.load_ohm = load_ohm

    def reset(self) -> None:
        self.state = _SourceMeterState()

    # physics

    def compliance_limit(self) -> float:
        """The current limit in force: programmed, but at most 21 mA above 21 V."""
        limit = abs(self.state.current_protection)
        if abs(self.state.voltage) > self.LOW_RANGE_MAX_VOLTAGE:
            limit = min(limit, self.HIGH_RANGE_MAX_CURRENT)
        return limit

    def operating_point(self) -> tuple[float, float, bool]:
        """(output voltage, current, in compliance) of the source into the load."""
        s = self.state
        if not s.output:
            return 0.0, 0.0, False
        if s.function == "CURR":
            voltage = s.current * self.load_ohm
            if abs(voltage) > abs(s.voltage_protection):
                voltage = math.copysign(abs(s.voltage_protection), s.current)
                return voltage, voltage / self.load_ohm, True
            return voltage, s.current, False
        limit = self.compliance_limit()
        current = s.voltage / self.load_ohm
        if abs(current) > limit:
            current = math.copysign(limit, s.voltage)
            return current * self.load_ohm, current, True
        return s.voltage, current, False

    def reading(self) -> str:
        voltage, current, compliance = self.operating_point()
        voltage += self.gauss(20e-6 + 10e-6 * abs(voltage))
        current += self.gauss(self.LEAKAGE_NOISE_A)
        status = self.STATUS_V_MEAS | self.STATUS_I_MEAS
        status |= self.STATUS_V_SOURCE if self.state.function == "VOLT" else self.STATUS_I_SOURCE
        if compliance:
            status |= self.STATUS_COMPLIANCE
        values = {
            "VOLT": voltage,
            "CURR": current,
            "RES": voltage / current if current else SCPI_NAN,
            "TIME": time.monotonic() - self.started,
            "STAT": float(status),
        }
        return ",".join(sci(values[name]) for name in self.state.elements)

    # SCPI

    @handles("[SOURce]:FUNCtion:[MODE]")
    def _source_function(self, args: list[str], query: bool) -> str | None:
        if query:
            return self.state.function
        expect_arguments(args, 1)
        word = args[0].upper()
        if word in ("VOLT", "VOLTAGE"):
            self.state.function = "VOLT"
        elif word in ("CURR", "CURRENT"):
            self.state.function = "CURR"
        else:
            raise ScpiError(-224, "Illegal parameter value")
        return None

    @handles("[SOURce]:VOLTage:RANGe")
    def _source_voltage_range(self, args: list[str], query: bool) -> str | None:
        if query:
            return sci(self.state.voltage_range)
        expect_arguments(args, 1)
        self.state.voltage_range = parse_number(args[0], -self.MAX_VOLTAGE, self.MAX_VOLTAGE)
        self.state.voltage_range_auto = False
        return None

    @handles("[SOURce]:VOLTage:RANGe:AUTO")
    def _source_voltage_range_auto(self, args: list[str], query: bool) -> str | None:
        if query:
            return on_off(self.state.voltage_range_auto)
        expect_arguments(args, 1)
        self.state.voltage_range_auto = parse_bool(args[0])
        return None

    @handles("[SOURce]:VOLTage:[LEVel]:[IMMediate]:[AMPLitude]")
    def _source_voltage(self, args: list[str], query: bool) -> str | None:
        if query:
            return sci(self.state.voltage)
        expect_arguments(args, 1)
        self.state.voltage = parse_number(args[0], -self.MAX_VOLTAGE, self.MAX_VOLTAGE, 0.0)
        return None

    @handles("[SOURce]:CURRent:[LEVel]:[IMMediate]:[AMPLitude]")
    def _source_current(self, args: list[str], query: bool) -> str | None:
        if query:
            return sci(self.state.current)
        expect_arguments(args, 1)
        self.state.current = parse_number(args[0], -self.MAX_CURRENT, self.MAX_CURRENT, 0.0)
        return None

    @handles("SENSe:CURRent:[DC]:PROTection:TRIPped")
    def _current_tripped(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        return on_off(self.state.function == "VOLT" and self.operating_point()[2])

    @handles("SENSe:CURRent:[DC]:PROTection:[LEVel]")
    def _current_protection(self, args: list[str], query: bool) -> str | None:
        if query:
            return sci(self.state.current_protection)
        expect_arguments(args, 1)
        self.state.current_protection = parse_number(args[0], -self.MAX_CURRENT, self.MAX_CURRENT, 105e-6)
        return None

    @handles("SENSe:VOLTage:[DC]:PROTection:[LEVel]")
    def _voltage_protection(self, args: list[str], query: bool) -> str | None:
        if query:
            return sci(self.state.voltage_protection)
        expect_arguments(args, 1)
        self.state.voltage_protection = parse_number(args[0], -self.MAX_VOLTAGE, self.MAX_VOLTAGE, 21.0)
        return None

    @handles("[SENSe]:FUNCtion:CONCurrent")
    def _sense_concurrent(self, args: list[str], query: bool) -> str | None:
        if query:
            return on_off(self.state.concurrent)
        expect_arguments(args, 1)
        self.state.concurrent = parse_bool(args[0])
        return None

    @handles("[SENSe]:FUNCtion:[ON]:ALL")
    def _sense_all(self, args: list[str], query: bool) -> str | None:
        no_query(query)
        expect_arguments(args, 0)
        self.state.sense_functions = ("VOLT", "CURR", "RES")
        return None

    @handles("[SENSe]:FUNCtion:OFF:ALL")
    def _sense_none(self, args: list[str], query: bool) -> str | None:
        no_query(query)
        self.state.sense_functions = ()
        return None

    @handles("[SENSe]:FUNCtion:[ON]")
    def _sense_functions(self, args: list[str], query: bool) -> str | None:
        if query:
            return ",".join(f'"{name}:DC"' for name in self.state.sense_functions)
        if not args:
            raise ScpiError(-109, "Missing parameter")
        names = [self._ELEMENT_NAMES.get(a.upper().split(":")[0]) for a in args]
        if any(name is None or name in ("TIME", "STAT") for name in names):
            raise ScpiError(-224, "Illegal parameter value")
        self.state.sense_functions = tuple(name for name in names if name is not None)
        return None

    @handles("[SENSe]:RESistance:MODE")
    def _resistance_mode(self, args: list[str], query: bool) -> str | None:
        if query:
            return self.state.resistance_mode
        expect_arguments(args, 1)
        word = args[0].upper()
        if word not in ("MAN", "MANUAL", "AUTO"):
            raise ScpiError(-224, "Illegal parameter value")
        self.state.resistance_mode = "AUTO" if word == "AUTO" else "MAN"
        return None

    @handles("FORMat:ELEMents:[SENSe]")
    def _format_elements(self, args: list[str], query: bool) -> str | None:
        if query:
            return ",".join(self.state.elements)
        if not args:
            raise ScpiError(-109, "Missing parameter")
        names = {self._ELEMENT_NAMES.get(arg.upper()) for arg in args}
        if None in names:
            raise ScpiError(-224, "Illegal parameter value")
        # The instrument always returns the elements in this order, whatever order was given.
        self.state.elements = tuple(n for n in ("VOLT", "CURR", "RES", "TIME", "STAT") if n in names)
        return None

    @handles("OUTPut:[STATe]")
    def _output(self, args: list[str], query: bool) -> str | None:
        if query:
            return on_off(self.state.output)
        expect_arguments(args, 1)
        self.state.output = parse_bool(args[0])
        return None

    @handles("INITiate")
    def _initiate(self, args: list[str], query: bool) -> str | None:
        no_query(query)
        if not self.state.output:
            raise ScpiError(-221, "Settings conflict; output is off")
        return None

    @handles("READ", "FETCh")
    def _read(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        if not self.state.output:
            raise ScpiError(-221, "Settings conflict; output is off")
        return self.reading()

    @handles("MEASure:[VOLTage]:[DC]", "MEASure:CURRent:[DC]", "MEASure:RESistance")
    def _measure(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        self.state.output = True  # 2400-series :MEASure? turns the source on (auto output-off is off)
        return self.reading()

    @handles("SIM:LOAD")
    def _sim_load(self, args: list[str], query: bool) -> str | None:
        if query:
            self._sim_channel(args, range(1, 2), 0)
            return sci(self.load_ohm)
        if not args:
            raise ScpiError(-109, "Missing parameter")
        self._sim_channel(args, range(1, 2), 1)
        self.load_ohm = parse_number(args[0], 1e-3, 1e18)
        return None


# --- R&S HMP4040 --------------------------------------------------------------------------------


@dataclass
class _LvChannel:
    voltage: float = 0.0
    current: float = 0.1
    selected: bool = False
    load_ohm: float = 10.0


class HMP4040Model(ScpiInstrument):
    """R&S HMP4040: four 32 V / 10 A / 160 W channels into resistive loads (default 10 Ω).

    A channel delivers power when both its output select (``OUTP:SEL``) and the master output
    (``OUTP:GEN``) are on. It limits at min(current setting, 10 A, 160 W / V setting): in current
    limiting the output voltage drops to I_limit·R.
    """

    idn = "ROHDE&SCHWARZ,HMP4040,123456,HW50020001/SW2.51"
    CHANNELS = range(1, 5)
    MAX_VOLTAGE = 32.05
    MAX_CURRENT = 10.0
    MAX_POWER = 160.0

    def __init__(self, seed: int | None = None, load_ohm: float = 10.0) -> None:
        super().__init__(seed)
        self.selected_channel = 1
        self.master = False
        self.channels = {ch: _LvChannel(load_ohm=load_ohm) for ch in self.CHANNELS}
        self.remote = "LOC"

    def reset(self) -> None:
        loads = {ch: state.load_ohm for ch, state in self.channels.items()}
        self.channels = {ch: _LvChannel(load_ohm=loads[ch]) for ch in self.CHANNELS}
        self.selected_channel = 1
        self.master = False

    @property
    def channel(self) -> _LvChannel:
        return self.channels[self.selected_channel]

    def output_on(self, channel: int) -> bool:
        return self.master and self.channels[channel].selected

    def current_limit(self, channel: int) -> float:
        state = self.channels[channel]
        limit = min(state.current, self.MAX_CURRENT)
        if state.voltage > 0:
            limit = min(limit, self.MAX_POWER / state.voltage)
        return limit

    def operating_point(self, channel: int) -> tuple[float, float, bool]:
        """(output voltage, current, current-limited) of a channel."""
        state = self.channels[channel]
        if not self.output_on(channel):
            return 0.0, 0.0, False
        limit = self.current_limit(channel)
        current = state.voltage / state.load_ohm
        if current > limit:
            return limit * state.load_ohm, limit, True
        return state.voltage, current, False

    @handles("INSTrument:NSELect")
    def _instrument_nselect(self, args: list[str], query: bool) -> str | None:
        if query:
            return str(self.selected_channel)
        expect_arguments(args, 1)
        self.selected_channel = int(parse_number(args[0], 1, 4))
        return None

    @handles("INSTrument:[SELect]")
    def _instrument_select(self, args: list[str], query: bool) -> str | None:
        if query:
            return f"OUTP{self.selected_channel}"
        expect_arguments(args, 1)
        word = args[0].upper()
        for prefix in ("OUTPUT", "OUTP", "OUT", "CH"):
            if word.startswith(prefix) and word[len(prefix) :].isdigit():
                channel = int(word[len(prefix) :])
                if channel in self.CHANNELS:
                    self.selected_channel = channel
                    return None
        raise ScpiError(-224, "Illegal parameter value")

    def _level(self, args: list[str], query: bool, attribute: str, maximum: float, fmt: str) -> str | None:
        state = self.channel
        if query:
            if args and args[0].upper() in ("MIN", "MINIMUM"):
                return fmt.format(0.0)
            if args and args[0].upper() in ("MAX", "MAXIMUM"):
                return fmt.format(maximum)
            return fmt.format(getattr(state, attribute))
        expect_arguments(args, 1)
        setattr(state, attribute, parse_number(args[0], 0.0, maximum))
        return None

    @handles("[SOURce]:VOLTage:[LEVel]:[IMMediate]:[AMPLitude]")
    def _voltage(self, args: list[str], query: bool) -> str | None:
        return self._level(args, query, "voltage", self.MAX_VOLTAGE, "{:.3f}")

    @handles("[SOURce]:CURRent:[LEVel]:[IMMediate]:[AMPLitude]")
    def _current(self, args: list[str], query: bool) -> str | None:
        return self._level(args, query, "current", self.MAX_CURRENT, "{:.4f}")

    @handles("APPLy")
    def _apply(self, args: list[str], query: bool) -> str | None:
        if query:
            return f"{self.channel.voltage:.3f},{self.channel.current:.4f}"
        expect_arguments(args, 2)
        voltage = parse_number(args[0], 0.0, self.MAX_VOLTAGE)
        current = parse_number(args[1], 0.0, self.MAX_CURRENT)
        self.channel.voltage, self.channel.current = voltage, current
        return None

    @handles("OUTPut:SELect")
    def _output_select(self, args: list[str], query: bool) -> str | None:
        if query:
            return on_off(self.channel.selected)
        expect_arguments(args, 1)
        self.channel.selected = parse_bool(args[0])
        return None

    @handles("OUTPut:GENeral")
    def _output_general(self, args: list[str], query: bool) -> str | None:
        if query:
            return on_off(self.master)
        expect_arguments(args, 1)
        self.master = parse_bool(args[0])
        return None

    @handles("OUTPut:[STATe]")
    def _output_state(self, args: list[str], query: bool) -> str | None:
        if query:
            return on_off(self.output_on(self.selected_channel))
        expect_arguments(args, 1)
        on = parse_bool(args[0])
        self.channel.selected = on
        if on:
            self.master = True
        return None

    @handles("MEASure:[SCALar]:VOLTage:[DC]")
    def _measure_voltage(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        voltage, _, _ = self.operating_point(self.selected_channel)
        if voltage:
            voltage = max(0.0, voltage + self.gauss(0.5e-3))
        return f"{voltage:.4f}"

    @handles("MEASure:[SCALar]:CURRent:[DC]")
    def _measure_current(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        _, current, _ = self.operating_point(self.selected_channel)
        if current:
            current = max(0.0, current + self.gauss(0.1e-3))
        return f"{current:.5f}"

    @handles("SYSTem:REMote", "SYSTem:LOCal", "SYSTem:MIX", "SYSTem:RWLock")
    def _system_mode(self, args: list[str], query: bool) -> str | None:
        no_query(query)
        return None

    @handles("SYSTem:BEEPer:[IMMediate]")
    def _beep(self, args: list[str], query: bool) -> str | None:
        no_query(query)
        return None

    @handles("SIM:LOAD")
    def _sim_load(self, args: list[str], query: bool) -> str | None:
        if query:
            return f"{self.channels[self._sim_channel(args, self.CHANNELS, 0)].load_ohm:.6g}"
        if not args:
            raise ScpiError(-109, "Missing parameter")
        channel = self._sim_channel(args, self.CHANNELS, 1)
        self.channels[channel].load_ohm = parse_number(args[0], 1e-3, 1e12)
        return None


# --- environment monitor ------------------------------------------------------------------------


@dataclass
class _Head:
    temperature_base: float
    humidity_base: float
    phase: float
    held_temperature: float | None = None
    held_humidity: float | None = None


class EnvMonModel(ScpiInstrument):
    """SCPI environment monitor with SHT3x-class heads: ~21 °C, ~35 %RH, slow drift and noise.

    Drift is a slow sine (periods of 15-20 min) around each head's base value; SIM:TEMP and
    SIM:HUM hold a head at a value (noise still applies unless SIM:NOISE OFF) until SIM:DRIFT ON.
    """

    idn = "LABDCS,ENVMON-SHT31,EM000123,1.4.0"
    TEMPERATURE_NOISE = 0.02
    HUMIDITY_NOISE = 0.1

    def __init__(self, seed: int | None = None, channels: int = 1) -> None:
        super().__init__(seed)
        self.heads = {
            ch: _Head(
                temperature_base=21.0 + self.rng.uniform(-0.3, 0.3),
                humidity_base=35.0 + self.rng.uniform(-1.0, 1.0),
                phase=self.rng.uniform(0.0, 2 * math.pi),
            )
            for ch in range(1, channels + 1)
        }
        self.channel_range = range(1, channels + 1)

    def temperature(self, channel: int) -> float:
        head = self.heads[channel]
        if head.held_temperature is not None:
            value = head.held_temperature
        else:
            t = time.monotonic() - self.started
            value = head.temperature_base + 0.4 * math.sin(2 * math.pi * t / 900.0 + head.phase)
        return value + self.gauss(self.TEMPERATURE_NOISE)

    def humidity(self, channel: int) -> float:
        head = self.heads[channel]
        if head.held_humidity is not None:
            value = head.held_humidity
        else:
            t = time.monotonic() - self.started
            value = head.humidity_base + 2.0 * math.sin(2 * math.pi * t / 1200.0 + 1.3 * head.phase)
        return min(100.0, max(0.0, value + self.gauss(self.HUMIDITY_NOISE)))

    def _head_of(self, args: list[str]) -> int:
        if not args:
            return 1
        expect_arguments(args, 1)
        channels = parse_channel_list(args[0])
        if len(channels) != 1 or channels[0] not in self.channel_range:
            raise ScpiError(-222, "Data out of range; no such sensor head")
        return channels[0]

    @handles("MEASure:TEMPerature")
    def _measure_temperature(self, args: list[str], query: bool) -> str | None:
        require_query(query)
        return f"{self.temperature(self._head_of(args)):.2f}"

    @handles("MEASure:HUMidity")
    def _measure_humidity(self, args: list[str], query: bool) -> str | None:
        require_query(query)
        return f"{self.humidity(self._head_of(args)):.2f}"

    @handles("SIM:TEMP")
    def _sim_temperature(self, args: list[str], query: bool) -> str | None:
        if query:
            return f"{self.temperature(self._sim_channel(args, self.channel_range, 0)):.2f}"
        if not args:
            raise ScpiError(-109, "Missing parameter")
        channel = self._sim_channel(args, self.channel_range, 1)
        self.heads[channel].held_temperature = _parse_sim_value(args[0])
        return None

    @handles("SIM:HUM")
    def _sim_humidity(self, args: list[str], query: bool) -> str | None:
        if query:
            return f"{self.humidity(self._sim_channel(args, self.channel_range, 0)):.2f}"
        if not args:
            raise ScpiError(-109, "Missing parameter")
        channel = self._sim_channel(args, self.channel_range, 1)
        self.heads[channel].held_humidity = _parse_sim_value(args[0])
        return None

    @handles("SIM:DRIFT")
    def _sim_drift(self, args: list[str], query: bool) -> str | None:
        if query:
            drifting = all(
                h.held_temperature is None and h.held_humidity is None for h in self.heads.values()
            )
            return on_off(drifting)
        expect_arguments(args, 1)
        drift = parse_bool(args[0])
        for channel, head in self.heads.items():
            if drift:
                head.held_temperature = head.held_humidity = None
            else:  # freeze where the drift is now
                noise, self.noise = self.noise, False
                head.held_temperature = self.temperature(channel)
                head.held_humidity = self.humidity(channel)
                self.noise = noise
        return None


def _parse_sim_value(text: str) -> float:
    """A fault-injection value: any number, or NAN (a broken sensor head)."""
    try:
        return float(text)
    except ValueError:
        raise ScpiError(-104, "Data type error; expected a number") from None


#: Model name (as in driver names) -> model class.
MODELS: dict[str, type[ScpiInstrument]] = {
    "keithley2410": Keithley2410Model,
    "hmp4040": HMP4040Model,
    "envmon": EnvMonModel,
}


#: Every model create_model() builds.
MODEL_NAMES = (*sorted(MODELS), "psb")


def create_model(name: str, seed: int | None = None, **options: Any) -> ScpiInstrument:
    """A fresh instrument model by driver name (``keithley2410``, ``hmp4040``, ``envmon``, ``psb``)."""
    if name == "psb":  # its own module: it brings the cell simulator and builds on this one
        from labdcs_dummy.psb import PsbModel

        return PsbModel(seed=seed, **options)
    try:
        model = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown instrument model {name!r}; known: {', '.join(MODEL_NAMES)}") from None
    return model(seed=seed, **options)
