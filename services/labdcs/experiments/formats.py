"""What a cycler text format is: its columns, units, header detection and conventions.

A :class:`Format` knows how to find its header (after a vendor preamble), which of its columns hold
the quantities we keep and in which unit, and how its oddities map to our conventions (the Battery
Data Format's: seconds, volts, amperes, current positive while charging); what it finds in one
file's first lines is a :class:`Layout`. The formats themselves, one module per vendor, and their
detection are :mod:`labdcs.experiments.text_formats`; reading and verifying the rows is
:mod:`labdcs.experiments.importers`.
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


# --- finding a layout in a file's first lines ---------------------------------------------------


def split_cells(line: str, delimiter: str) -> list[str]:
    return [cell.strip().strip('"') for cell in next(csv.reader([line], delimiter=delimiter))]


def find_header(head: list[str], delimiter: str, marker: Callable[[list[str]], bool]) -> int | None:
    for index, line in enumerate(head):
        if marker(split_cells(line, delimiter)):
            return index
    return None


def plain(name: str) -> str:
    """A header name compared without case, spaces or non-ASCII characters: the ° of
    ``Temperature/°C`` arrives as ``Â°``, ``\ufffd`` or nothing depending on the export's encoding."""
    return re.sub(r"[^\x21-\x7e]", "", name).lower()


def pick(header: list[str], candidates: dict[str, Parser]) -> tuple[int, str, Parser] | None:
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
        line = find_header(head, delimiter, self.header_marker)
        if line is None:
            raise ImportFailed([self.missing_message(head, delimiter)])
        header = split_cells(head[line], delimiter)
        layout = Layout(format=self.name, delimiter=delimiter, header_line=line, vendor=self.vendor)
        for quantity, options in self.candidates.items():
            found = pick(header, options)
            if found is not None:
                index, name, parse = found
                optional = quantity in self.optional_quantities
                layout.columns[quantity] = Column(quantity, name, index, parse, optional)
        find_data_line(layout, head)
        layout.header = preamble(head[:line])
        self.adjust(layout, header)
        return layout

    def detect_delimiter(self, head: list[str]) -> str:
        return self.delimiter

    def adjust(self, layout: Layout, header: list[str]) -> None:
        """Format-specific fix-ups (signs, units found in the header)."""

    def missing_message(self, head: list[str], delimiter: str) -> str:
        wanted = "; ".join(f"{q}: one of {', '.join(repr(n) for n in self.candidates[q])}" for q in REQUIRED)
        first = split_cells(head[0], delimiter) if head else []
        return f"row 1: no {self.name} header found (needs {wanted}); first row has {first[:12]}"


def preamble(lines: list[str]) -> dict[str, str]:
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


def find_data_line(layout: Layout, head: list[str]) -> None:
    """The first data line (blank lines after the header skipped) and its decimal mark."""
    line = layout.header_line + 1
    while line < len(head) - 1 and not head[line].strip(layout.delimiter + " \t"):
        line += 1
    layout.data_line = line
    data = head[line] if line < len(head) else ""
    layout.decimal_comma = layout.delimiter != "," and bool(re.search(r"\d,\d", data))


def header_value(layout: Layout, *keys: str) -> str | None:
    for key in keys:
        for name, value in layout.header.items():
            if plain(name) == plain(key) and value:
                return value
    return None


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
