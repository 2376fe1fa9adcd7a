"""The cycler file formats we read: their columns, units, header detection and conventions.

Each format knows how to find its header (after a vendor preamble), which of its columns hold the
quantities we keep and in which unit, and how its oddities map to our conventions (the Battery Data
Format's: seconds, volts, amperes, current positive while charging):

- ``bdf``: Battery Data Format CSV (``Test Time / s``, ``Voltage / V``, ``Current / A``, ...);
- ``arbin``: Arbin MITS CSV export (``Test_Time(s)``, ``Voltage(V)``, ``Current(A)``, ... and the
  newer ``Test Time (s)`` dialect);
- ``maccor``: Maccor text export (tab-separated, ``Today's Date`` preamble; ``Amps`` unsigned, the
  sign from ``State``: C charge, D discharge);
- ``biologic``: BioLogic EC-Lab ``.mpt`` text (``Nb header lines : N``; ``I/mA``; decimal commas);
- ``neware``: Neware BTS CSV export (``Total Time``/``Cumulative Time`` as ``h:mm:ss.fff``);
- ``generic``: any delimited text with a column mapping ``{"column": "quantity/unit"}``, e.g.
  ``{"t": "time/min", "U": "voltage/V", "I": "current/mA"}``.

Reading and verifying the rows is :mod:`labdcs.experiments.importers`.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

MAX_PROBLEMS = 20
HEAD_LINES = 120
HEAD_BYTES = 64 * 1024
"""Format detection reads at most this many bytes (a vendor preamble and header fit many times),
never whole lines of any length: a file of 100 MB lines must not take 100s of MB to be refused."""
MAX_LINE = 1 << 20
"""Longest line read, in characters: a data row is a few hundred; a longer line stops the file
with a problem instead of being held whole in memory."""

#: quantity -> {unit: factor to SI}; what a generic mapping may name.
UNITS: dict[str, dict[str, float]] = {
    "time": {"s": 1.0, "ms": 1e-3, "min": 60.0, "h": 3600.0},
    "voltage": {"V": 1.0, "mV": 1e-3},
    "current": {"A": 1.0, "mA": 1e-3, "uA": 1e-6},
    "temperature": {"degC": 1.0, "C": 1.0, "°C": 1.0},
    "cycle": {"1": 1.0},
    "step": {"1": 1.0},
    "unix_time": {"s": 1.0, "ms": 1e-3},
}
REQUIRED = ("time", "voltage", "current")


class ImportFailed(ValueError):
    """The file cannot be imported; ``problems`` name rows and columns."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
        )
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Sample:
    row: int
    time: float
    voltage: float
    current: float
    temperature: float | None = None
    cycle: int | None = None
    step: int | None = None
    unix_time: float | None = None


Parser = Callable[[str], float]


def number(decimal_comma: bool = False) -> Parser:
    def parse(text: str) -> float:
        value = float(text.replace(",", ".") if decimal_comma else text)
        if not math.isfinite(value):
            raise ValueError(text)
        return value

    return parse


def scaled(factor: float, decimal_comma: bool = False) -> Parser:
    base = number(decimal_comma)
    return lambda text: base(text) * factor


_DURATION = re.compile(r"^\s*(?:(\d+)\s*d\s*)?(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)\s*$")


def duration(text: str) -> float:
    """``h:mm:ss(.fff)`` or ``1d 02:03:04.5`` (Maccor, Neware) in seconds; plain numbers too."""
    match = _DURATION.match(text)
    if match is None:
        return number()(text)
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S",
    "%m/%d/%Y %H:%M:%S.%f",
    "%m/%d/%Y %H:%M:%S",
    "%Y/%m/%d %H:%M:%S.%f",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
)


def date_time(text: str) -> float:
    """A vendor's wall-clock column (taken as UTC) in Unix seconds."""
    text = text.strip()
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    raise ValueError(text)


@dataclass
class Column:
    quantity: str
    name: str
    index: int
    parse: Parser
    optional: bool = False
    """A value that does not parse is left out instead of refusing the file (wall-clock dates)."""


@dataclass
class Layout:
    """Where the data are in one file, found from its first lines."""

    format: str
    delimiter: str
    header_line: int = 0
    columns: dict[str, Column] = field(default_factory=dict)
    sign: Callable[[str], float] | None = None
    sign_column: Column | None = None


# --- formats ------------------------------------------------------------------------------------


def _split(line: str, delimiter: str) -> list[str]:
    return [cell.strip().strip('"') for cell in next(csv.reader([line], delimiter=delimiter))]


def _find_header(head: list[str], delimiter: str, marker: Callable[[list[str]], bool]) -> int | None:
    for index, line in enumerate(head):
        if marker(_split(line, delimiter)):
            return index
    return None


def _pick(header: list[str], candidates: dict[str, Parser]) -> tuple[int, str, Parser] | None:
    lowered = [h.lower() for h in header]
    for name, parse in candidates.items():
        if name.lower() in lowered:
            index = lowered.index(name.lower())
            return index, header[index], parse
    return None


class Format:
    name = ""
    description = ""
    delimiter = ","
    #: quantity -> {header name (case-insensitive): parser to SI}
    candidates: dict[str, dict[str, Parser]] = {}
    optional_quantities: frozenset[str] = frozenset({"unix_time"})

    def sniff(self, head: list[str]) -> bool:
        raise NotImplementedError

    def header_marker(self, cells: list[str]) -> bool:
        lowered = {c.lower() for c in cells}
        return all(any(name.lower() in lowered for name in self.candidates[q]) for q in REQUIRED)

    def layout(self, head: list[str], mapping: dict[str, str] | None = None) -> Layout:
        delimiter = self.detect_delimiter(head)
        line = _find_header(head, delimiter, self.header_marker)
        if line is None:
            raise ImportFailed([self.missing_message(head, delimiter)])
        header = _split(head[line], delimiter)
        layout = Layout(format=self.name, delimiter=delimiter, header_line=line)
        for quantity, options in self.candidates.items():
            found = _pick(header, options)
            if found is not None:
                index, name, parse = found
                optional = quantity in self.optional_quantities
                layout.columns[quantity] = Column(quantity, name, index, parse, optional)
        self.adjust(layout, header)
        return layout

    def detect_delimiter(self, head: list[str]) -> str:
        return self.delimiter

    def adjust(self, layout: Layout, header: list[str]) -> None:
        """Format-specific fix-ups (signs, units found in the header)."""

    def missing_message(self, head: list[str], delimiter: str) -> str:
        wanted = "; ".join(f"{q}: one of {', '.join(repr(n) for n in self.candidates[q])}" for q in REQUIRED)
        first = _split(head[0], delimiter) if head else []
        return f"row 1: no {self.name} header found (needs {wanted}); first row has {first[:12]}"


class BdfCsv(Format):
    name = "bdf"
    description = "Battery Data Format CSV (Test Time / s, Voltage / V, Current / A)"
    candidates = {
        "time": {"Test Time / s": number(), "test_time_second": number()},
        "voltage": {"Voltage / V": number(), "voltage_volt": number()},
        "current": {"Current / A": number(), "current_ampere": number()},
        "temperature": {"Temperature T1 / degC": number(), "temperature_t1_celsius": number(),
                        "Ambient Temperature / degC": number(), "ambient_temperature_celsius": number()},
        "cycle": {"Cycle Count / 1": number(), "cycle_count": number()},
        "step": {"Step Index / 1": number(), "step_index": number(), "Step Count / 1": number()},
        "unix_time": {"Unix Time / s": number(), "unix_time_second": number()},
    }  # fmt: skip

    def sniff(self, head: list[str]) -> bool:
        text = "\n".join(head[:3])
        return "Test Time / s" in text or "test_time_second" in text


class ArbinCsv(Format):
    name = "arbin"
    description = "Arbin MITS CSV export (Test_Time(s), Voltage(V), Current(A), Cycle_Index, ...)"
    candidates = {
        "time": {"Test_Time(s)": number(), "Test Time (s)": number(), "Test_Time": number()},
        "voltage": {"Voltage(V)": number(), "Voltage (V)": number(), "Voltage": number()},
        "current": {"Current(A)": number(), "Current (A)": number(), "Current": number()},
        "temperature": {
            "Aux_Temperature_1(C)": number(),
            "Aux_Temperature_1 (C)": number(),
            "Temperature": number(),
        },
        "cycle": {"Cycle_Index": number(), "Cycle Index": number()},
        "step": {"Step_Index": number(), "Step Index": number()},
        "unix_time": {"Date_Time": date_time, "Date Time": date_time, "DateTime": number()},
    }  # fmt: skip

    def sniff(self, head: list[str]) -> bool:
        first = head[0] if head else ""
        return ("Test_Time(s)" in first or "Data_Point" in first or "Test Time (s)" in first) and (
            "Step Type" not in first
        )


class MaccorText(Format):
    name = "maccor"
    description = "Maccor text export (tab-separated, Rec#, Cyc#, Test (Sec), Amps, Volts, State)"
    delimiter = "\t"
    candidates = {
        "time": {
            "Test (Sec)": number(),
            "TestTime": duration,
            "Test (Min)": scaled(60.0),
            "Test Time [s]": number(),
        },
        "voltage": {"Volts": number(), "Voltage [V]": number()},
        "current": {"Amps": number(), "Current [A]": number()},
        "temperature": {"Temp 1": number(), "Temperature Cell [°C]": number()},
        "cycle": {"Cyc#": number(), "Cycle C": number()},
        "step": {"Step": number()},
        "unix_time": {"DPt Time": date_time, "DPT Time": date_time},
    }  # fmt: skip

    def sniff(self, head: list[str]) -> bool:
        text = "\n".join(head[:20])
        return text.startswith("Today's Date") or ("Rec#" in text and "Cyc#" in text)

    def adjust(self, layout: Layout, header: list[str]) -> None:
        found = _pick(header, {"State": number()})
        if found is not None and layout.columns["current"].name == "Amps":
            index, name, _ = found
            layout.sign_column = Column("state", name, index, number())
            layout.sign = _maccor_sign


def _maccor_sign(state: str) -> float:
    """Maccor's ``Amps`` is a magnitude: D(ischarge) makes it negative; C, R, O, S keep it."""
    code = state.strip()[:1].upper()
    if code not in "CDROS" or not code:
        raise ValueError(state)
    return -1.0 if code == "D" else 1.0


class BiologicMpt(Format):
    name = "biologic"
    description = "BioLogic EC-Lab .mpt text export (time/s, Ewe/V, I/mA)"
    delimiter = "\t"
    candidates = {
        "time": {"time/s": number()},
        "voltage": {"Ewe/V": number(), "Ecell/V": number(), "<Ewe>/V": number()},
        "current": {"I/mA": scaled(1e-3), "<I>/mA": scaled(1e-3), "I/A": number()},
        "temperature": {"Temperature/°C": number(), "Temperature/C": number()},
        "cycle": {"cycle number": number()},
        "step": {"Ns": number()},
    }

    def sniff(self, head: list[str]) -> bool:
        text = "\n".join(head[:5])
        return "EC-Lab ASCII FILE" in text or "Nb header lines" in text

    def layout(self, head: list[str], mapping: dict[str, str] | None = None) -> Layout:
        layout = super().layout(head, mapping)
        # EC-Lab writes numbers in the operator's locale: a decimal comma is common.
        data = head[layout.header_line + 1] if len(head) > layout.header_line + 1 else ""
        if re.search(r"\d,\d", data):
            for column in layout.columns.values():
                factor = 1e-3 if column.name in ("I/mA", "<I>/mA") else 1.0
                column.parse = scaled(factor, decimal_comma=True)
        return layout


class NewareCsv(Format):
    name = "neware"
    description = "Neware BTS CSV export (Total Time h:mm:ss, Current(A), Voltage(V), Cycle Index, Step Type)"
    candidates = {
        "time": {"Total Time": duration, "Cumulative Time": duration, "Total Time(s)": number()},
        "voltage": {"Voltage(V)": number()},
        "current": {"Current(A)": number(), "Current(mA)": scaled(1e-3)},
        "temperature": {"Temperature(C)": number(), "T1(℃)": number(), "Temperature(°C)": number()},
        "cycle": {"Cycle Index": number(), "Cycle ID": number()},
        "step": {"Step Index": number(), "Step ID": number()},
        "unix_time": {"Date": date_time, "Realtime": date_time},
    }

    def sniff(self, head: list[str]) -> bool:
        first = head[0] if head else ""
        return "DataPoint" in first or "Step Type" in first or "Total Time" in first or "Realtime" in first


class GenericCsv(Format):
    name = "generic"
    description = 'Delimited text with a column mapping {"column": "quantity/unit"}'

    def sniff(self, head: list[str]) -> bool:
        return False

    def detect_delimiter(self, head: list[str]) -> str:
        first = head[0] if head else ""
        counts = {d: first.count(d) for d in (",", ";", "\t")}
        return max(counts, key=lambda d: counts[d])

    def layout(self, head: list[str], mapping: dict[str, str] | None = None) -> Layout:
        if not mapping:
            raise ImportFailed(['generic CSV needs a column mapping, e.g. {"t": "time/s", "U": "voltage/V"}'])
        problems = []
        targets: dict[str, tuple[str, float]] = {}
        for column, target in mapping.items():
            quantity, _, unit = target.partition("/")
            units = UNITS.get(quantity)
            if units is None:
                problems.append(
                    f"mapping of column '{column}': unknown quantity '{quantity}' ({', '.join(UNITS)})"
                )
            elif unit not in units:
                problems.append(
                    f"mapping of column '{column}': unit '{unit}' is not one of {', '.join(units)}"
                )
            else:
                targets[quantity] = (column, units[unit])
        for quantity in REQUIRED:
            if quantity not in targets:
                problems.append(f"mapping: no column mapped to {quantity}")
        if problems:
            raise ImportFailed(problems)
        delimiter = self.detect_delimiter(head)
        wanted = {column for column, _ in targets.values()}
        line = _find_header(head, delimiter, lambda cells: wanted <= set(cells))
        if line is None:
            first = _split(head[0], delimiter) if head else []
            missing = sorted(wanted - set(first))
            raise ImportFailed(
                [
                    f"row 1: missing column{'s' if len(missing) > 1 else ''} {missing}; "
                    f"the file has {first[:12]}"
                ]
            )
        header = _split(head[line], delimiter)
        layout = Layout(format=self.name, delimiter=delimiter, header_line=line)
        for quantity, (column, factor) in targets.items():
            index = header.index(column)
            layout.columns[quantity] = Column(quantity, column, index, scaled(factor))
        return layout


FORMATS: dict[str, Format] = {
    f.name: f for f in (BdfCsv(), ArbinCsv(), MaccorText(), BiologicMpt(), NewareCsv(), GenericCsv())
}


def read_head(path: Path) -> list[str]:
    """The complete lines (up to :data:`HEAD_LINES`) in the first :data:`HEAD_BYTES` of the file."""
    with path.open("rb") as handle:
        data = handle.read(HEAD_BYTES + 1)
    whole = len(data) <= HEAD_BYTES
    head = re.split(r"\r\n|\r|\n", data[:HEAD_BYTES].decode("utf-8", errors="replace"))
    if head[-1] == "" or not whole:
        head.pop()  # after the last line break, or a line cut by the byte limit
    head = head[:HEAD_LINES]
    if head and head[0].startswith("\ufeff"):
        head[0] = head[0][1:]
    return head


class LineTooLong(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(f"row {line}: a line longer than {MAX_LINE >> 20} MiB; this is not a data table")
        self.line = line


def bounded_lines(text: IO[str]) -> Iterator[str]:
    """The file's lines for the csv module, each read with a bound (:data:`MAX_LINE`)."""
    number = 0
    while line := text.readline(MAX_LINE + 1):
        number += 1
        if len(line) > MAX_LINE:
            raise LineTooLong(number)
        yield line


def detect(head: list[str]) -> Format | None:
    for fmt in FORMATS.values():
        if fmt.sniff(head):
            return fmt
    return None
