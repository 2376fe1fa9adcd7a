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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

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
    "time": {"s": 1.0, "ms": 1e-3, "us": 1e-6, "min": 60.0, "h": 3600.0, "d": 86400.0},
    "voltage": {"V": 1.0, "mV": 1e-3, "kV": 1e3},
    "current": {"A": 1.0, "mA": 1e-3, "uA": 1e-6, "µA": 1e-6},
    "temperature": {"degC": 1.0, "C": 1.0, "°C": 1.0},
    "cycle": {"1": 1.0},
    "step": {"1": 1.0},
    "unix_time": {"s": 1.0, "ms": 1e-3, "date": 0.0},
    "charge_capacity": {"Ah": 1.0, "mAh": 1e-3, "C": 1 / 3600, "As": 1 / 3600},
    "discharge_capacity": {"Ah": 1.0, "mAh": 1e-3, "C": 1 / 3600, "As": 1 / 3600},
    "charge_energy": {"Wh": 1.0, "mWh": 1e-3, "kWh": 1e3, "J": 1 / 3600},
    "discharge_energy": {"Wh": 1.0, "mWh": 1e-3, "kWh": 1e3, "J": 1 / 3600},
    "resistance": {"Ohm": 1.0, "mOhm": 1e-3, "kOhm": 1e3, "Ω": 1.0, "mΩ": 1e-3, "kΩ": 1e3},
}
"""A generic mapping's target is ``quantity/unit``; a current may add its sign convention after a
space: ``"current/mA +discharge"`` (positive while discharging; the default is ``+charge``, the BDF's).
``resistance`` columns are accepted and not stored; ``unix_time/date`` is a wall-clock date column
(``2024-04-30 14:33:19``, ``04/30/2024 14:33:19``, ... taken as UTC)."""
ACCUMULATORS = ("charge_capacity", "discharge_capacity", "charge_energy", "discharge_energy", "capacity",
                "energy")  # fmt: skip
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
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M:%S.%f %p",
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
    decimal_comma: bool = False
    vendor: str = ""
    header: dict[str, str] = field(default_factory=dict)
    """The preamble's key/value pairs as written."""
    start: tuple[float, str] | None = None
    """(Unix seconds of test time 0, where it was read) when the preamble says it."""
    channel: str | None = None
    cell_id: str | None = None
    filter_columns: list[int] = field(default_factory=list)
    """Nested exports: a data row has these cells empty (Neware's cycle/step/record rows)."""
    current_sign: str = "+charge"
    """The mapping's declared convention: ``+charge`` (BDF) or ``+discharge``."""
    extra: dict[str, Column] = field(default_factory=dict)
    integration: str = "trapezoid"
    """How the cycler integrates its own accumulators (for the check only): EC-Lab's ``right``."""
    data_line: int = 1
    """Index (0-based) of the first line after the header that is not blank (Maccor leaves one)."""


# --- formats ------------------------------------------------------------------------------------


def _split(line: str, delimiter: str) -> list[str]:
    return [cell.strip().strip('"') for cell in next(csv.reader([line], delimiter=delimiter))]


def _find_header(head: list[str], delimiter: str, marker: Callable[[list[str]], bool]) -> int | None:
    for index, line in enumerate(head):
        if marker(_split(line, delimiter)):
            return index
    return None


def plain(name: str) -> str:
    """A header name compared without case, spaces or non-ASCII characters: the ° of
    ``Temperature/°C`` arrives as ``Â°``, ``\ufffd`` or nothing depending on the export's encoding."""
    return re.sub(r"[^\x21-\x7e]", "", name).lower()


def _pick(header: list[str], candidates: dict[str, Parser]) -> tuple[int, str, Parser] | None:
    lowered = [plain(h) for h in header]
    for name, parse in candidates.items():
        if plain(name) in lowered:
            index = lowered.index(plain(name))
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

    vendor = ""

    def header_marker(self, cells: list[str]) -> bool:
        lowered = {plain(c) for c in cells}
        return all(any(plain(name) in lowered for name in self.candidates[q]) for q in REQUIRED)

    def layout(self, head: list[str], mapping: dict[str, str] | None = None) -> Layout:
        delimiter = self.detect_delimiter(head)
        line = _find_header(head, delimiter, self.header_marker)
        if line is None:
            raise ImportFailed([self.missing_message(head, delimiter)])
        header = _split(head[line], delimiter)
        layout = Layout(format=self.name, delimiter=delimiter, header_line=line, vendor=self.vendor)
        for quantity, options in self.candidates.items():
            found = _pick(header, options)
            if found is not None:
                index, name, parse = found
                optional = quantity in self.optional_quantities
                layout.columns[quantity] = Column(quantity, name, index, parse, optional)
        _data_line(layout, head)
        layout.header = _preamble(head[:line])
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


def _preamble(lines: list[str]) -> dict[str, str]:
    """``key: value`` / ``key<TAB>value`` pairs of a vendor preamble, as written (first 200)."""
    found: dict[str, str] = {}
    for line in lines[:200]:
        cells = [c.strip() for c in re.split(r"\t|\s:\s|:\t|:\s{2,}|,", line)]
        cells = [c for c in cells if c]
        if len(cells) == 1 and ":" in cells[0]:
            key, _, value = cells[0].partition(":")
            cells = [key, value.strip()]
        for key, value in zip(cells[::2], cells[1::2], strict=False):
            key = key.rstrip(":").strip()
            if key and key not in found and len(key) < 60 and value.isprintable():
                found[key] = value[:200]
    return found


def _data_line(layout: Layout, head: list[str]) -> None:
    """The first data line (blank lines after the header skipped) and its decimal mark."""
    line = layout.header_line + 1
    while line < len(head) - 1 and not head[line].strip(layout.delimiter + " \t"):
        line += 1
    layout.data_line = line
    data = head[line] if line < len(head) else ""
    layout.decimal_comma = layout.delimiter != "," and bool(re.search(r"\d,\d", data))


def _header_value(layout: Layout, *keys: str) -> str | None:
    for key in keys:
        for name, value in layout.header.items():
            if plain(name) == plain(key) and value:
                return value
    return None


_BDF_TIME = {
    "Test Time / s": number(),
    "test_time_second": number(),
    "Test Time / h": scaled(3600.0),
    "test_time_hour": scaled(3600.0),
    "Test Time / min": scaled(60.0),
    "test_time_minute": scaled(60.0),
}


class BdfCsv(Format):
    name = "bdf"
    vendor = "Battery Data Format"
    description = "Battery Data Format CSV (Test Time / s or / h, Voltage / V, Current / A)"
    candidates = {
        "time": _BDF_TIME,
        "voltage": {"Voltage / V": number(), "voltage_volt": number()},
        "current": {"Current / A": number(), "current_ampere": number()},
        "temperature": {"Temperature T1 / degC": number(), "temperature_t1_celsius": number(),
                        "Ambient Temperature / degC": number(), "ambient_temperature_celsius": number()},
        "cycle": {"Cycle Count / 1": number(), "cycle_count": number()},
        "step": {"Step Index / 1": number(), "step_index": number(), "Step Count / 1": number()},
        "unix_time": {"Unix Time / s": number(), "unix_time_second": number()},
        "charge_capacity": {"Charging Capacity / Ah": number(), "Charge Capacity / Ah": number(),
                            "charging_capacity_ah": number(), "charge_capacity_ah": number()},
        "discharge_capacity": {"Discharging Capacity / Ah": number(), "Discharge Capacity / Ah": number(),
                               "discharging_capacity_ah": number(), "discharge_capacity_ah": number()},
        "charge_energy": {"Charging Energy / Wh": number(), "charging_energy_wh": number()},
        "discharge_energy": {"Discharging Energy / Wh": number(), "discharging_energy_wh": number()},
    }  # fmt: skip

    def sniff(self, head: list[str]) -> bool:
        first = head[0] if head else ""
        return any(name in first for name in _BDF_TIME)


class ArbinCsv(Format):
    name = "arbin"
    vendor = "Arbin"
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
        "charge_capacity": {"Charge_Capacity(Ah)": number(), "Charge Capacity (Ah)": number()},
        "discharge_capacity": {"Discharge_Capacity(Ah)": number(), "Discharge Capacity (Ah)": number()},
        "charge_energy": {"Charge_Energy(Wh)": number(), "Charge Energy (Wh)": number()},
        "discharge_energy": {"Discharge_Energy(Wh)": number(), "Discharge Energy (Wh)": number()},
    }  # fmt: skip

    def sniff(self, head: list[str]) -> bool:
        first = head[0] if head else ""
        return ("Test_Time(s)" in first or "Data_Point" in first or "Test Time (s)" in first) and (
            "Step Type" not in first
        )


class MaccorText(Format):
    name = "maccor"
    vendor = "Maccor"
    description = (
        "Maccor text export (Rec#/Rec, Cyc#/Cycle C, Test (Sec)/TestTime, Amps/Current [A], "
        "Volts/Voltage [V], State/Md; tab or comma separated, decimal point or comma, "
        "with or without a preamble)"
    )
    delimiter = "\t"
    candidates = {
        "time": {
            "Test (Sec)": number(),
            "TestTime": duration,
            "Test Time": duration,
            "Test (Min)": scaled(60.0),
            "Test Time [s]": number(),
        },
        "voltage": {"Volts": number(), "Voltage [V]": number(), "Voltage": number()},
        "current": {"Amps": number(), "Current [A]": number(), "Current": number()},
        "temperature": {"Temp 1": number(), "Temperature Cell [°C]": number()},
        "cycle": {"Cyc#": number(), "Cycle C": number()},
        "step": {"Step": number()},
        "unix_time": {"DPt Time": date_time, "DPT Time": date_time},
        "capacity": {"Amp-hr": number(), "Cap. [Ah]": number(), "Capacity": number()},
        "energy": {"Watt-hr": number(), "Ener. [Wh]": number(), "Energy": number()},
    }  # fmt: skip

    def sniff(self, head: list[str]) -> bool:
        text = "\n".join(head[:40])
        if text.startswith("Today's Date") or ("Rec#" in text and "Cyc#" in text):
            return True
        return bool(re.search(r"^Rec[\t,]", text, re.M)) and bool(re.search(r"[\t,](Md|State)[\t,]", text))

    def detect_delimiter(self, head: list[str]) -> str:
        for line in head:
            if re.match(r"Rec#?[\t,]", line):
                return "\t" if "\t" in line else ","
        return "\t"

    def adjust(self, layout: Layout, header: list[str]) -> None:
        found = _pick(header, {"State": number(), "Md": number()})
        if found is not None:
            index, name, _ = found
            layout.sign_column = Column("state", name, index, number())
            layout.sign = _maccor_sign
        layout.channel = _header_value(layout, "Channel", "Tester Channel")
        layout.cell_id = _header_value(layout, "Name", "Filename")


def _maccor_sign(state: str) -> float:
    """Maccor's ``Amps`` is a magnitude: D(ischarge) makes it negative; C, R, O, S keep it."""
    code = state.strip()[:1].upper()
    if code not in "CDROS" or not code:
        raise ValueError(state)
    return -1.0 if code == "D" else 1.0


_ECLAB_START = re.compile(r"Acquisition started on\s*:\s*(.+?)\s*$")


class BiologicMpt(Format):
    name = "biologic"
    vendor = "BioLogic EC-Lab"
    description = "BioLogic EC-Lab .mpt text export (time/s, Ewe/V, I/mA), with or without its header"
    delimiter = "\t"
    candidates = {
        "time": {"time/s": number()},
        "voltage": {"Ewe/V": number(), "Ecell/V": number(), "<Ewe>/V": number(), "<Ecell>/V": number()},
        "current": {"I/mA": scaled(1e-3), "<I>/mA": scaled(1e-3), "I/A": number(), "<I>/A": number()},
        "temperature": {"Temperature/°C": number(), "Temperature/C": number()},
        "cycle": {"cycle number": number()},
        "step": {"Ns": number()},
        "charge_capacity": {"Q charge/mA.h": scaled(1e-3), "Q charge/A.h": number()},
        "discharge_capacity": {"Q discharge/mA.h": scaled(1e-3), "Q discharge/A.h": number()},
        "charge_energy": {"Energy charge/W.h": number(), "Energy we charge/W.h": number()},
        "discharge_energy": {"Energy discharge/W.h": number(), "Energy we discharge/W.h": number()},
    }  # fmt: skip

    def sniff(self, head: list[str]) -> bool:
        text = "\n".join(head[:5])
        if "EC-Lab ASCII FILE" in text or "Nb header lines" in text:
            return True
        first = head[0] if head else ""  # exported without its header: the column names first
        return first.startswith("mode\t") or ("time/s" in first and "\t" in first and "/V" in first)

    def adjust(self, layout: Layout, header: list[str]) -> None:
        for key in ("Acquisition started on", "Technique started on"):
            value = _header_value(layout, key)
            if value:
                try:
                    layout.start = (date_time(value), f"header '{key}'")
                    break
                except ValueError:
                    continue
        layout.integration = "right"
        channel = _header_value(layout, "Run on channel")
        layout.channel = channel.split("(")[0].strip() if channel else None
        found = _pick(header, {"freq/Hz": number()})
        if found is not None:
            layout.extra["frequency"] = Column("frequency", found[1], found[0], number())


class NewareCsv(Format):
    name = "neware"
    vendor = "Neware BTS"
    description = "Neware BTS CSV export (Total Time h:mm:ss, Current(A), Voltage(V), Cycle Index, Step Type)"
    candidates = {
        "time": {"Total Time": duration, "Cumulative Time": duration, "Total Time(s)": number()},
        "voltage": {"Voltage(V)": number()},
        "current": {"Current(A)": number(), "Current(mA)": scaled(1e-3)},
        "temperature": {"Temperature(C)": number(), "T1(℃)": number(), "Temperature(°C)": number(),
                        "T1(?)": number()},
        "cycle": {"Cycle Index": number(), "Cycle ID": number()},
        "step": {"Step Index": number(), "Step ID": number()},
        "unix_time": {"Date": date_time, "Realtime": date_time},
        "charge_capacity": {"Chg. Cap.(Ah)": number(), "Chg. Cap.(mAh)": scaled(1e-3)},
        "discharge_capacity": {"DChg. Cap.(Ah)": number(), "DChg. Cap.(mAh)": scaled(1e-3)},
        "charge_energy": {"Chg. Energy(Wh)": number()},
        "discharge_energy": {"DChg. Energy(Wh)": number()},
        "capacity": {"Capacity(Ah)": number(), "Capacity(mAh)": scaled(1e-3)},
        "energy": {"Energy(Wh)": number()},
    }  # fmt: skip

    def sniff(self, head: list[str]) -> bool:
        first = head[0] if head else ""
        return "DataPoint" in first or "Step Type" in first or "Total Time" in first or "Realtime" in first

    def adjust(self, layout: Layout, header: list[str]) -> None:
        found = _pick(header, {"Step Type": number()})
        if found is not None:
            layout.sign_column = Column("state", found[1], found[0], number())


class NewareRegular(NewareCsv):
    """Neware's "regular" export: a cycle row, its step rows (one empty cell first), their record
    rows (two empty cells first); three header lines, one per level. Only record rows are data."""

    name = "neware-regular"
    description = "Neware BTS nested 'regular' export (cycle, step and record rows; three header lines)"

    def sniff(self, head: list[str]) -> bool:
        return (
            len(head) > 3
            and head[0].startswith("Cycle Index,")
            and head[1].startswith(",Step Index")
            and head[2].startswith(",,DataPoint")
        )

    def layout(self, head: list[str], mapping: dict[str, str] | None = None) -> Layout:
        records = _split(head[2], ",")
        layout = Layout(format=self.name, delimiter=",", header_line=2, vendor=self.vendor)
        for quantity, options in self.candidates.items():
            found = _pick(records, options)
            if found is not None:
                layout.columns[quantity] = Column(quantity, found[1], found[0], found[2],
                                                  quantity in self.optional_quantities)  # fmt: skip
        for quantity in REQUIRED:
            if quantity not in layout.columns:
                raise ImportFailed([f"row 3: the record header has no {quantity} column ({records[:12]})"])
        layout.filter_columns = [0, 1]
        layout.data_line = 3
        # The cycle and step of a record are on the rows above it: the index from the step rows.
        layout.columns.pop("cycle", None)
        layout.columns.pop("step", None)
        return layout


class GenericCsv(Format):
    name = "generic"
    description = 'Delimited text with a column mapping {"column": "quantity/unit"}'

    def sniff(self, head: list[str]) -> bool:
        return False

    def detect_delimiter(self, head: list[str]) -> str:
        """The delimiter that splits the last lines of the head into the same number (>1) of
        cells: a preamble (Basytec's 12 lines) says nothing about the table below it."""
        tail = [line for line in head[-10:] if line.strip()] or head[:1]
        best, best_cells = ",", 0
        for delimiter in (",", ";", "\t"):
            counts = {line.count(delimiter) for line in tail}
            if len(counts) == 1 and (cells := counts.pop()) > best_cells:
                best, best_cells = delimiter, cells
        if best_cells == 0:
            first = head[0] if head else ""
            return max((",", ";", "\t"), key=first.count)
        return best

    def layout(self, head: list[str], mapping: dict[str, str] | None = None) -> Layout:
        if not mapping:
            raise ImportFailed(['generic CSV needs a column mapping, e.g. {"t": "time/s", "U": "voltage/V"}'])
        problems = []
        targets: dict[str, tuple[str, float]] = {}
        sign = "+charge"
        for column, target in mapping.items():
            target, _, convention = target.strip().partition(" ")
            quantity, _, unit = target.partition("/")
            units = UNITS.get(quantity)
            if convention and (quantity != "current" or convention not in ("+charge", "+discharge")):
                problems.append(
                    f"mapping of column '{column}': '{convention}' is not a sign convention; "
                    "only a current takes one, +charge or +discharge"
                )
            elif units is None:
                problems.append(
                    f"mapping of column '{column}': unknown quantity '{quantity}' ({', '.join(UNITS)})"
                )
            elif unit not in units:
                problems.append(
                    f"mapping of column '{column}': unit '{unit}' is not one of {', '.join(units)}"
                )
            elif quantity != "resistance":
                targets[quantity] = (column, units[unit])
                if convention:
                    sign = convention
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
        layout = Layout(format=self.name, delimiter=delimiter, header_line=line, current_sign=sign)
        for quantity, (column, factor) in targets.items():
            index = header.index(column)
            parse = date_time if quantity == "unix_time" and factor == 0.0 else scaled(factor)
            layout.columns[quantity] = Column(quantity, column, index, parse)
        _data_line(layout, head)
        layout.header = _preamble(head[:line])
        return layout


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (BdfCsv(), ArbinCsv(), MaccorText(), BiologicMpt(), NewareRegular(), NewareCsv(), GenericCsv())
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


def detect(head: list[str]) -> Format | None:
    for fmt in FORMATS.values():
        if fmt.sniff(head):
            return fmt
    return None
