"""Reading finished experiments from files: :func:`open_file` detects the format
(:mod:`labdcs.experiments.formats`), and :class:`Reader` yields verified :class:`Sample` s while it
reads (constant memory) and raises :class:`ImportFailed` at the end with every problem (up to
:data:`MAX_PROBLEMS`), each naming the row (the line number in the file) and the column as it is
written in the file.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from labdcs.experiments.documents import Limits
from labdcs.experiments.formats import (
    FORMATS,
    HEAD_BYTES,
    MAX_PROBLEMS,
    REQUIRED,
    ImportFailed,
    Layout,
    LineTooLong,
    Sample,
    bounded_lines,
    detect,
    read_head,
)

__all__ = ["MAX_PROBLEMS", "ImportFailed", "Plausible", "Reader", "Sample", "open_file"]


# --- reading and verifying ------------------------------------------------------------------------


@dataclass
class Plausible:
    """Ranges a value must be in; from the cell when known (generous: measurement, not safety)."""

    v_min: float = -5.0
    v_max: float = 1000.0
    i_abs: float = 10_000.0
    t_min: float = -60.0
    t_max: float = 200.0

    @classmethod
    def for_cell(cls, limits: Limits) -> Plausible:
        plausible = cls()
        if limits.v_max is not None:
            plausible.v_max = limits.v_max * 1.5
            plausible.v_min = -0.5
        currents = [c for c in (limits.i_charge_max, limits.i_discharge_max) if c is not None]
        if currents:
            plausible.i_abs = max(currents) * 5
        return plausible


@dataclass
class Reader:
    """Verified samples of one file; ``problems`` fill while reading, ``progress`` is 0..1."""

    path: Path
    layout: Layout
    plausible: Plausible = field(default_factory=Plausible)
    problems: list[str] = field(default_factory=list)
    rows: int = 0
    progress: float = 0.0
    _size: int = 0

    def problem(self, row: int, column: str, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"row {row}, column '{column}': {message}")

    def __iter__(self) -> Iterator[Sample]:
        layout = self.layout
        self._size = max(1, self.path.stat().st_size)
        with self.path.open("rb") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
            table = csv.reader(bounded_lines(text), delimiter=layout.delimiter)
            try:
                yield from self._samples(raw, table, layout)
            except LineTooLong as exc:
                self.problems.append(str(exc))
            except csv.Error as exc:  # reading stops: the csv module's state after an error is unknown
                limit = csv.field_size_limit()
                self.problems.append(
                    f"row {table.line_num}: a field longer than {limit} characters; this is not a data table"
                    if "field limit" in str(exc)
                    else f"row {table.line_num}: not readable as CSV ({exc})"
                )
        if self.rows == 0 and not self.problems:
            self.problems.append(f"row {layout.header_line + 2}: no data rows after the header")
        self.progress = 1.0

    def _samples(self, raw: IO[bytes], reader: Iterator[list[str]], layout: Layout) -> Iterator[Sample]:
        columns = layout.columns
        time_c, volt_c, curr_c = columns["time"], columns["voltage"], columns["current"]
        extra = [c for q, c in columns.items() if q not in REQUIRED]
        sign_c = layout.sign_column
        width = max(c.index for c in (*columns.values(), *([sign_c] if sign_c else []))) + 1
        last_time = -math.inf
        p = self.plausible
        for line_number, cells in enumerate(reader, start=1):
            if line_number <= layout.header_line + 1:
                continue
            if not cells or all(not c.strip() for c in cells):
                continue
            if len(self.problems) >= MAX_PROBLEMS:
                return
            if line_number % 4096 == 0:
                self.progress = min(0.999, raw.tell() / self._size)
            if len(cells) < width:
                self.problem(
                    line_number, columns["time"].name, f"row has {len(cells)} columns, the header {width}+"
                )
                continue
            values: dict[str, float] = {}
            bad = False
            for column in (time_c, volt_c, curr_c, *extra):
                cell = cells[column.index].strip()
                if not cell and column.quantity not in REQUIRED:
                    continue
                try:
                    values[column.quantity] = column.parse(cell)
                except ValueError:
                    if column.optional:
                        continue
                    self.problem(line_number, column.name, f"{cell!r} is not a number")
                    bad = True
            if bad:
                continue
            current = values["current"]
            if sign_c is not None and layout.sign is not None:
                try:
                    current *= layout.sign(cells[sign_c.index])
                except ValueError:
                    self.problem(
                        line_number, sign_c.name, f"{cells[sign_c.index]!r} is not a state (C, D, R, O, S)"
                    )
                    continue
            t = values["time"]
            if t <= last_time:
                self.problem(
                    line_number, time_c.name, f"time does not increase ({t:g} s after {last_time:g} s)"
                )
                continue
            last_time = t
            voltage = values["voltage"]
            if not p.v_min <= voltage <= p.v_max:
                self.problem(
                    line_number,
                    volt_c.name,
                    f"{voltage:g} V is outside the plausible {p.v_min:g}..{p.v_max:g} V",
                )
                continue
            if abs(current) > p.i_abs:
                self.problem(
                    line_number, curr_c.name, f"{current:g} A is beyond the plausible ±{p.i_abs:g} A"
                )
                continue
            temperature = values.get("temperature")
            if temperature is not None and not p.t_min <= temperature <= p.t_max:
                name = columns["temperature"].name
                self.problem(
                    line_number, name, f"{temperature:g} degC is outside {p.t_min:g}..{p.t_max:g} degC"
                )
                continue
            cycle = values.get("cycle")
            step = values.get("step")
            self.rows += 1
            yield Sample(
                row=line_number,
                time=t,
                voltage=voltage,
                current=current,
                temperature=temperature,
                cycle=int(cycle) if cycle is not None else None,
                step=int(step) if step is not None else None,
                unix_time=values.get("unix_time"),
            )


def open_file(
    path: Path, format: str | None = None, mapping: dict[str, str] | None = None, limits: Limits | None = None
) -> Reader:
    """A reader for ``path``: format detected unless named; ImportFailed when it is not readable."""
    head = read_head(path)
    if not head:
        if path.stat().st_size > HEAD_BYTES:
            raise ImportFailed(
                [f"row 1: a line longer than {HEAD_BYTES >> 10} KiB; no known format starts so"]
            )
        raise ImportFailed(["row 1: the file is empty"])
    if format is not None:
        fmt = FORMATS.get(format)
        if fmt is None:
            raise ImportFailed([f"unknown format {format!r}; known: {', '.join(FORMATS)}"])
    elif mapping:
        fmt = FORMATS["generic"]
    else:
        detected = detect(head)
        if detected is None:
            raise ImportFailed(
                [f"format not recognised (first row: {head[0][:120]!r}); name it, or give a column mapping"]
            )
        fmt = detected
    layout = fmt.layout(head, mapping)
    plausible = Plausible.for_cell(limits) if limits is not None else Plausible()
    return Reader(path, layout, plausible)
