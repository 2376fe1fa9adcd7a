"""The one normalised in-memory form of an imported test: columns in Battery Data Format quantities.

Every reader (text: :mod:`labdcs.experiments.readers.text`; binary: .mpr, .res, .nda/.ndax) produces
a :class:`Table`; validation, statistics and the InfluxDB writer read only this form. Columns are
numpy arrays of equal length (one element per kept data row, in file order), never rows of objects:
a 10-million-row file is ~10 arrays, not 10 million Python objects.

Conventions (the BDF's):

- ``time_ns``: test time in int64 nanoseconds, as the file says it (µs and sub-ms steps kept);
  the first row is not shifted to 0, a reset has already been made continuous (see ``segment``);
- ``voltage`` V, ``current`` A positive while charging, ``temperature`` °C;
- ``charge_capacity``/``discharge_capacity`` Ah and ``charge_energy``/``discharge_energy`` Wh are the
  file's own accumulators (whatever they reset at), kept to verify our recomputation, never stored
  in their place;
- ``row``: the line number in the file (1-based) or the record number in a binary file, so every
  warning and problem can name the row a lab person finds in their own viewer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from labdcs.experiments.formats import Sample

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

NS = 1_000_000_000
MAX_ROWS_NAMED = 10
"""A warning names at most this many rows, then says how many more."""


@dataclass(frozen=True, slots=True)
class RowWarning:
    """Something the import changed or noticed, naming the rows (file line numbers) it concerns.

    ``kind`` is stable for programs (``duplicate_rows``, ``time_tie``, ``time_reset``, ...);
    ``message`` is for people.
    """

    kind: str
    message: str
    rows: tuple[int, ...] = ()
    count: int = 0

    def text(self) -> str:
        if not self.rows:
            return self.message
        named = ", ".join(str(r) for r in self.rows[:MAX_ROWS_NAMED])
        more = self.count - min(len(self.rows), MAX_ROWS_NAMED)
        tail = f" and {more} more" if more > 0 else ""
        return f"{self.message} (row{'s' if self.count > 1 else ''} {named}{tail})"


def row_warning(kind: str, message: str, rows: Ints | list[int]) -> RowWarning:
    listed = [int(r) for r in rows[:MAX_ROWS_NAMED]]
    return RowWarning(kind, message, tuple(listed), len(rows))


@dataclass
class Meta:
    """What the file says about itself besides its rows."""

    source_format: str
    """Our name of the layout (``maccor``, ``biologic``, ``bdf``, ...)."""
    vendor: str = ""
    """The instrument maker or tool, for people (``Maccor``, ``BioLogic EC-Lab``)."""
    start_ns: int | None = None
    """Unix time (ns) of test time 0 (a row's time is ``start_ns + time_ns``), from the file's header
    or its wall-clock column; None when the file does not say (the importer then uses the upload
    time and says so)."""
    start_source: str = ""
    """Where ``start_ns`` came from (``header 'Acquisition started on'``, ``column 'Unix Time / s'``)."""
    channel: str | None = None
    cell_id: str | None = None
    header: dict[str, str] = field(default_factory=dict)
    """Preamble key/values kept verbatim (the procedure, the comment, ...)."""
    clock_span_s: float | None = None
    """Seconds between the first and last wall-clock cells, when the file has a clock column (checks
    the time column's unit)."""
    clock_rows: tuple[int, int] = (0, 0)
    current_sign: str = ""
    """How the sign of the current was decided, for the import result (``signed in the file``,
    ``from column 'Md' (D = discharge)``, ...)."""


@dataclass
class Table:
    """One imported test in BDF quantities, columnar. See the module docstring for the units."""

    meta: Meta
    row: Ints
    time_ns: Ints
    voltage: Floats
    current: Floats
    temperature: Floats | None = None
    step: Ints | None = None
    cycle: Ints | None = None
    segment: Ints | None = None
    """0 for every row, +1 after each time reset (the time was continued from the previous end)."""
    charge_capacity: Floats | None = None
    discharge_capacity: Floats | None = None
    charge_energy: Floats | None = None
    discharge_energy: Floats | None = None
    capacity: Floats | None = None
    """One accumulator for both directions (Maccor ``Amp-hr``, Neware ``Capacity(Ah)``), Ah."""
    energy: Floats | None = None
    direction: npt.NDArray[np.object_] | None = None
    """The file's own state/direction codes as written (Maccor ``State``/``Md``, Neware ``Step
    Type``), used to decide the current's sign; not stored."""
    warnings: list[RowWarning] = field(default_factory=list)
    checks: list[tuple[str, float, float]] = field(default_factory=list)
    """(quantity, recomputed, the file's own) for each accumulator compared, for the import result."""

    def __len__(self) -> int:
        return int(self.time_ns.shape[0])

    @property
    def test_time_s(self) -> Floats:
        """Test time in seconds from the first row (float64: µs exact for 100+ years)."""
        if len(self) == 0:
            return np.zeros(0)
        seconds: Floats = (self.time_ns - self.time_ns[0]).astype(np.float64) / NS
        return seconds

    def columns(self) -> dict[str, npt.NDArray[Any]]:
        """The columns present, by attribute name (for masks and exports)."""
        names = (
            "row",
            "time_ns",
            "voltage",
            "current",
            "temperature",
            "step",
            "cycle",
            "segment",
            "charge_capacity",
            "discharge_capacity",
            "charge_energy",
            "discharge_energy",
            "capacity",
            "energy",
            "direction",
        )
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def take(self, keep: npt.NDArray[np.bool_] | Ints) -> None:
        """Keep only the rows selected by a boolean mask or an index array (in place)."""
        for name, column in self.columns().items():
            setattr(self, name, column[keep])

    def check(self) -> None:
        """Every column has one value per row; a reader's bug, not the file's, when not."""
        n = len(self)
        for name, column in self.columns().items():
            if column.shape != (n,):
                raise ValueError(f"column {name} has shape {column.shape}, expected ({n},)")


def from_samples(samples: Iterable[Sample], meta: Meta) -> Table:
    """A table from the row-wise :class:`~labdcs.experiments.formats.Sample` stream of the older
    readers (seconds as floats, rounded to the µs they can hold)."""
    rows, times, volts, amps, temps, cycles, steps = [], [], [], [], [], [], []
    for s in samples:
        rows.append(s.row)
        times.append(s.time)
        volts.append(s.voltage)
        amps.append(s.current)
        temps.append(np.nan if s.temperature is None else s.temperature)
        cycles.append(-1 if s.cycle is None else s.cycle)
        steps.append(-1 if s.step is None else s.step)
        if meta.start_ns is None and s.unix_time is not None:
            meta.start_ns = round(s.unix_time * 1e6) * 1000 - round(s.time * 1e6) * 1000
    table = Table(
        meta=meta,
        row=np.asarray(rows, dtype=np.int64),
        time_ns=np.round(np.asarray(times, dtype=np.float64) * 1e6).astype(np.int64) * 1000,
        voltage=np.asarray(volts, dtype=np.float64),
        current=np.asarray(amps, dtype=np.float64),
    )
    temperature = np.asarray(temps, dtype=np.float64)
    if len(temps) and not np.isnan(temperature).all():
        table.temperature = temperature
    cycle, step = np.asarray(cycles, dtype=np.int64), np.asarray(steps, dtype=np.int64)
    if len(cycles) and (cycle >= 0).all():
        table.cycle = cycle
    if len(steps) and (step >= 0).all():
        table.step = step
    return table
