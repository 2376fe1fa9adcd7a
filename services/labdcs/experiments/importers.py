"""Reading finished experiments from files: :func:`open_file` detects the format from the content
(:mod:`labdcs.experiments.text_formats`; binary and unsupported files are named as such by
:mod:`labdcs.experiments.readers.sniff`), and :meth:`Reader.read` returns the verified columnar
:class:`Table` or raises :class:`ImportFailed` with every problem (up to :data:`MAX_PROBLEMS`), each
naming the row (the line number in the file) and the column as it is written in the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from labdcs.experiments.documents import Limits
from labdcs.experiments.formats import HEAD_BYTES, MAX_PROBLEMS, ImportFailed, Layout, read_head
from labdcs.experiments.readers import verify
from labdcs.experiments.readers.binary import FORMATS as BINARY_FORMATS
from labdcs.experiments.readers.binary import BinaryReader, sniff
from labdcs.experiments.readers.sniff import binary_kind, unrecognised
from labdcs.experiments.readers.table import Table
from labdcs.experiments.readers.text import read_text
from labdcs.experiments.text_formats import FORMATS, detect

__all__ = ["MAX_PROBLEMS", "ImportFailed", "Plausible", "Reader", "Table", "open_file"]


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
    """One file's layout, read into the normalised :class:`Table` by :meth:`read`, which applies
    every policy of :mod:`labdcs.experiments.readers.verify` or raises :class:`ImportFailed` with
    problems naming rows. ``progress`` is 0..1 while reading."""

    path: Path
    layout: Layout
    plausible: Plausible = field(default_factory=Plausible)
    progress: float = 0.0
    rows: int = 0
    on_progress: Callable[[float], None] | None = None

    def read(self) -> Table:
        table = read_text(self.path, self.layout, self._progress)
        layout = self.layout
        meta = table.meta
        meta.channel, meta.cell_id = layout.channel, layout.cell_id
        if layout.start is not None:  # a header's start wins over a wall-clock column
            meta.start_ns = round(layout.start[0] * 1e6) * 1000
            meta.start_source = layout.start[1]
        has_direction = table.direction is not None
        verify.drop_duplicates(table)
        verify.decide_sign(table, layout, layout.sign_column.name if layout.sign_column else "")
        verify.fix_time(table)
        verify.check_time_unit(table)
        verify.check_span(table)
        p = self.plausible
        verify.plausible(table, layout, (p.v_min, p.v_max), p.i_abs, (p.t_min, p.t_max))
        verify.verify_accumulators(table, has_direction, layout.integration)
        table.check()
        self.rows, self.progress = len(table), 1.0
        return table

    def _progress(self, fraction: float) -> None:
        self.progress = fraction
        if self.on_progress is not None:
            self.on_progress(fraction)


def open_file(
    path: Path,
    format: str | None = None,
    mapping: dict[str, str] | None = None,
    limits: Limits | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> Reader | BinaryReader:
    """A reader for ``path``: format detected unless named; ImportFailed when it is not readable."""
    plausible = Plausible.for_cell(limits) if limits is not None else Plausible()
    readable = sniff(path) if format is None or format in BINARY_FORMATS else None
    if format in BINARY_FORMATS and readable is None:
        raise ImportFailed([f"{path.name} is not a {BINARY_FORMATS[format].label} file"])
    if readable is not None:
        return BinaryReader(path, readable, plausible, on_progress=on_progress)
    binary = binary_kind(path)
    if binary is not None:
        name, advice = binary
        raise ImportFailed([f"{name}: not imported as text; {advice}"])
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
            raise ImportFailed([unrecognised(path, head)])
        fmt = detected
    layout = fmt.layout(head, mapping)
    return Reader(path, layout, plausible, on_progress=on_progress)
