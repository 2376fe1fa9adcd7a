"""Delimited text files into a :class:`Table`, with pandas' C parser (the field's own reader: what
batterydf and cellpy use underneath), only the columns the layout names, in chunks.

The layout (where the header is, the delimiter, the decimal mark, which column holds which quantity
in which unit) comes from :mod:`labdcs.experiments.formats`; here the cells become numpy columns and
every cell that is not a number becomes a problem naming its row (the line in the file) and column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped]

try:  # optional: the fast path (pandas' C reader does everything without it)
    import pyarrow as pa
    import pyarrow.csv as pacsv
except ImportError:  # pragma: no cover
    pa = pacsv = None

from labdcs.experiments.formats import (
    MAX_LINE,
    MAX_PROBLEMS,
    REQUIRED,
    Column,
    ImportFailed,
    Layout,
    date_time,
    duration,
)
from labdcs.experiments.readers.table import NS, Floats, Ints, Meta, RowWarning, Table, row_warning
from labdcs.experiments.readers.text_cells import parse_durations, parse_durations_fast, parse_numbers

ARROW_WHOLE = 64 << 20
"""Files up to this size are parsed at once by pyarrow (all cores), larger ones block by block."""
CHUNK = 500_000
"""Rows parsed at once: bounds the parser's intermediate memory, and gives progress."""


@dataclass
class _Parts:
    """The chunks' columns, joined at the end."""

    rows: list[Ints] = field(default_factory=list)
    values: dict[str, list[npt.NDArray[np.float64]]] = field(default_factory=dict)
    texts: dict[str, list[npt.NDArray[np.object_]]] = field(default_factory=dict)


def kind(column: Column) -> str:
    """How a column's cells are read: ``duration`` (h:mm:ss), ``clock`` (a wall-clock date),
    ``text`` (state codes) or ``number``."""
    if column.parse is duration:
        return "duration"
    if column.parse is date_time:
        return "clock"
    if column.quantity in ("state",):
        return "text"
    return "number"


def factor(column: Column) -> float:
    """The column's unit factor to SI, read back from its parser."""
    try:
        return column.parse("1")
    except ValueError:
        return 1.0


def check_lines(path: Path) -> None:
    """A line longer than :data:`MAX_LINE` stops the file before the parser holds it in memory (such
    a file is not a data table). Cheap: such a line covers a whole block of half that size, so a
    search for one line break per block finds it (memchr); only then are the lines counted."""
    if path.stat().st_size <= MAX_LINE:
        return
    with path.open("rb") as handle:
        while block := handle.read(MAX_LINE // 2):
            if b"\n" not in block and len(block) == MAX_LINE // 2:
                handle.seek(0)
                _exact_lines(handle)
                return


def _exact_lines(handle: BinaryIO) -> None:
    """The row of the first line longer than :data:`MAX_LINE`, found with numpy in 4 MiB blocks."""
    line, carried = 1, 0
    while block := handle.read(1 << 22):
        breaks = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
        if len(breaks) == 0:
            carried += len(block)
        else:
            lengths = np.diff(breaks, prepend=-1)
            lengths[0] += carried
            carried = len(block) - 1 - int(breaks[-1])
            if int(lengths.max()) > MAX_LINE:
                line += int(np.argmax(lengths > MAX_LINE))
                break
            line += len(breaks)
        if carried > MAX_LINE:
            break
    else:
        return
    raise ImportFailed([f"row {line}: a line longer than {MAX_LINE >> 20} MiB; this is not a data table"])


def read_text(path: Path, layout: Layout, progress: Callable[[float], None] | None = None) -> Table:
    """Every data row of ``path`` as a Table (times in ns, SI units, current as the file signs it;
    the sign is decided later, from the data). ImportFailed names the rows that are not numbers."""
    check_lines(path)
    columns = dict(layout.columns)
    if layout.sign_column is not None:
        columns["state"] = Column("state", layout.sign_column.name, layout.sign_column.index, float)
    for name, column in layout.extra.items():
        columns[name] = column
    kinds = {q: kind(c) for q, c in columns.items()}
    indices = sorted({c.index for c in columns.values()} | set(layout.filter_columns))
    dtypes = {c.index: str for q, c in columns.items() if kinds[q] != "number"}
    dtypes.update({i: str for i in layout.filter_columns})
    parts = _Parts()
    problems: list[str] = []
    if not _read_arrow(path, layout, columns, kinds, indices, parts, problems, progress):
        parts, problems = _Parts(), []
        _read_pandas(path, layout, columns, kinds, indices, dtypes, parts, problems, progress)
    if problems:
        raise ImportFailed(problems)
    table = _assemble(parts, columns, kinds, layout)
    _missing(table, columns)
    if len(table) == 0:
        raise ImportFailed([f"row {layout.header_line + 2}: no data rows after the header"])
    return table


def _read_arrow(
    path: Path,
    layout: Layout,
    columns: dict[str, Column],
    kinds: dict[str, str],
    indices: list[int],
    parts: _Parts,
    problems: list[str],
    progress: Callable[[float], None] | None,
) -> bool:
    """The fast path: pyarrow's multi-threaded CSV reader, for files whose every row is complete and
    every number a number. False on anything else (blank or short rows, a cell that is not a number,
    a byte that is not UTF-8): then pandas reads the file and names the rows."""
    if pacsv is None or layout.filter_columns:
        return False
    names = {c.index for q, c in columns.items() if kinds[q] == "number"}
    read = pacsv.ReadOptions(skip_rows=layout.data_line, autogenerate_column_names=True, block_size=1 << 23)
    parse = pacsv.ParseOptions(delimiter=layout.delimiter, ignore_empty_lines=False)
    convert = pacsv.ConvertOptions(
        include_columns=[f"f{i}" for i in indices],
        column_types={f"f{i}": (pa.float64() if i in names else pa.string()) for i in indices},
        decimal_point="," if layout.decimal_comma else ".",
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    try:
        # Whole (multi-threaded) up to ARROW_WHOLE bytes, beyond that in blocks (bounded memory).
        if path.stat().st_size <= ARROW_WHOLE:
            batches = [pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)]
        else:
            batches = pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert)
        first_line = layout.data_line + 1
        size = max(1, path.stat().st_size)
        done = 0
        for batch in batches:
            chunk = batch.to_pandas()
            chunk.columns = indices
            rows = np.arange(first_line, first_line + len(chunk), dtype=np.int64)
            first_line += len(chunk)
            done += batch.nbytes
            _chunk(chunk, rows, columns, kinds, layout, parts, problems)
            if problems:
                return False
            if progress is not None:
                progress(min(0.99, done / size))
    except (pa.ArrowException, ValueError, KeyError, OSError):
        return False
    return True


def _read_pandas(
    path: Path,
    layout: Layout,
    columns: dict[str, Column],
    kinds: dict[str, str],
    indices: list[int],
    dtypes: dict[int, type[str]],
    parts: _Parts,
    problems: list[str],
    progress: Callable[[float], None] | None,
) -> None:
    """pandas' C reader, in chunks: every row read, every problem named."""
    size = max(1, path.stat().st_size)
    try:
        handle = path.open("rb")
        reader = pd.read_csv(
            handle,
            sep=layout.delimiter,
            header=None,
            skiprows=layout.data_line,
            usecols=indices,
            dtype=dtypes,
            decimal="," if layout.decimal_comma else ".",
            encoding="utf-8",
            encoding_errors="replace",
            skip_blank_lines=False,
            chunksize=CHUNK,
            engine="c",
            quotechar='"',
            low_memory=True,
            na_filter=True,
            keep_default_na=False,
            na_values=[""],
        )
        first_line = layout.data_line + 1
        with handle, reader:
            for chunk in reader:
                rows = np.arange(first_line, first_line + len(chunk), dtype=np.int64)
                first_line += len(chunk)
                _chunk(chunk, rows, columns, kinds, layout, parts, problems)
                if progress is not None:
                    progress(min(0.99, handle.tell() / size))
                if len(problems) >= MAX_PROBLEMS:
                    break
    except pd.errors.EmptyDataError:
        pass
    except (pd.errors.ParserError, ValueError, UnicodeError) as exc:
        problems.append(f"not readable as a table: {_short(exc)}")


def _missing(table: Table, columns: dict[str, Column]) -> None:
    """Empty required cells: on the last row only, the file was still being written (that row is
    dropped, with a warning); anywhere else, problems naming the rows."""
    missing = np.zeros(len(table), dtype=bool)
    for quantity in REQUIRED:
        missing |= np.isnan(getattr(table, quantity if quantity != "time" else "voltage"))
    missing |= table.time_ns == np.iinfo(np.int64).min
    if not missing.any():
        return
    where = np.flatnonzero(missing)
    if len(where) == 1 and where[0] == len(table) - 1:
        table.warnings.append(
            row_warning(
                "incomplete_last_row",
                "the last line is incomplete (the file was probably still being written): not imported",
                table.row[where],
            )
        )
        table.take(~missing)
        return
    names = ", ".join(f"'{columns[q].name}'" for q in REQUIRED)
    raise ImportFailed([f"row {r}: a value is missing in {names}" for r in table.row[where][:MAX_PROBLEMS]])


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _chunk(
    chunk: pd.DataFrame,
    rows: Ints,
    columns: dict[str, Column],
    kinds: dict[str, str],
    layout: Layout,
    parts: _Parts,
    problems: list[str],
) -> None:
    keep = np.ones(len(chunk), dtype=bool)
    if layout.filter_columns:  # nested exports: only the record rows (their leading cells empty)
        for index in layout.filter_columns:
            keep &= chunk[index].isna().to_numpy()
    required = [columns[q].index for q in REQUIRED]
    blank = chunk[required].isna().all(axis=1).to_numpy()
    keep &= ~blank
    selected = chunk[keep] if not keep.all() else chunk
    rows = rows[keep]
    parts.rows.append(rows)
    for quantity, column in columns.items():
        series = selected[column.index]
        if kinds[quantity] == "number":
            values = parse_numbers(series, rows, column, quantity, layout, problems)
            parts.values.setdefault(quantity, []).append(
                values * factor(column) if factor(column) != 1 else values
            )
        elif kinds[quantity] == "duration":
            fast = parse_durations_fast(series, layout.decimal_comma)
            if fast is None:
                if layout.decimal_comma:
                    series = series.str.replace(",", ".", regex=False)
                fast = parse_durations(series, rows, column, problems)
            parts.values.setdefault(quantity, []).append(fast)
        else:
            parts.texts.setdefault(quantity, []).append(series.to_numpy(dtype=object))


def _assemble(parts: _Parts, columns: dict[str, Column], kinds: dict[str, str], layout: Layout) -> Table:
    rows = np.concatenate(parts.rows) if parts.rows else np.zeros(0, dtype=np.int64)
    parts.rows.clear()

    def values(quantity: str) -> Floats:
        """A column joined from its chunks, which are let go (the peak memory is one copy)."""
        chunks = parts.values.get(quantity, [])
        joined = np.concatenate(chunks) if chunks else np.zeros(0)
        chunks.clear()
        return joined

    seconds = values("time")
    meta = Meta(source_format=layout.format, vendor=layout.vendor, header=dict(layout.header))
    table = Table(
        meta=meta,
        row=rows,
        time_ns=_nanoseconds(seconds),
        voltage=values("voltage"),
        current=values("current"),
    )
    if "temperature" in parts.values:
        temperature = values("temperature")
        if not np.isnan(temperature).all():
            table.temperature = temperature
    for name in ("cycle", "step"):
        if name in parts.values:
            numbers = values(name)
            if np.isnan(numbers).any() or (numbers != np.round(numbers)).any():
                table.warnings.append(
                    RowWarning(
                        f"{name}_column",
                        f"column '{columns[name].name}' does not hold whole numbers "
                        f"({numbers[0]!r}, ...): not used as the {name} index",
                    )
                )
            else:
                setattr(table, name, numbers.astype(np.int64))
    if "unix_time" in parts.values:
        _start_from_unix(table, values("unix_time"), seconds, columns["unix_time"])

    for name in (
        "charge_capacity",
        "discharge_capacity",
        "charge_energy",
        "discharge_energy",
        "capacity",
        "energy",
    ):
        if name in parts.values:
            setattr(table, name, np.nan_to_num(values(name)))
    for name, chunks in parts.texts.items():
        text = np.concatenate(chunks) if chunks else np.zeros(0, dtype=object)
        if name == "state":
            table.direction = text
        elif name == "unix_time" and kinds[name] == "clock":
            _start_from_clock(table, text, seconds, columns[name])
    if "frequency" in parts.values:
        _drop_impedance(table, values("frequency"))
    return table


def _start_from_clock(table: Table, text: npt.NDArray[np.object_], seconds: Floats, column: Column) -> None:
    """The test's start (Unix ns) from the first and last wall-clock cells that parse; the time
    column's unit is checked against the clock (a Maccor TestTime in minutes, a BDF time in hours)."""
    first = last = None
    for k in range(min(len(text), 1000)):
        try:
            first = (k, date_time(str(text[k])))
            break
        except ValueError:
            continue
    for k in range(len(text) - 1, max(-1, len(text) - 1000), -1):
        try:
            last = (k, date_time(str(text[k])))
            break
        except ValueError:
            continue
    if first is None:
        return
    k, clock = first
    table.meta.start_ns = round((clock - seconds[k]) * 1e6) * 1000
    table.meta.start_source = f"column '{column.name}'"
    if last is not None and last[0] > k:
        table.meta.clock_span_s = last[1] - clock
        table.meta.clock_rows = (int(table.row[k]), int(table.row[last[0]]))


def _nanoseconds(seconds: Floats) -> Ints:
    """Seconds to int64 ns; a missing time becomes int64's minimum (found by :func:`_missing`)."""
    ns = np.full(len(seconds), np.iinfo(np.int64).min, dtype=np.int64)
    ok = np.isfinite(seconds)
    ns[ok] = np.rint(seconds[ok] * NS).astype(np.int64)
    return ns


def _start_from_unix(table: Table, unix: Floats, seconds: Floats, column: Column) -> None:
    finite = np.flatnonzero(np.isfinite(unix))
    if len(finite) == 0:
        return
    k, last = int(finite[0]), int(finite[-1])
    table.meta.start_ns = round((unix[k] - seconds[k]) * 1e6) * 1000
    table.meta.start_source = f"column '{column.name}'"
    if last > k:
        table.meta.clock_span_s = float(unix[last] - unix[k])
        table.meta.clock_rows = (int(table.row[k]), int(table.row[last]))


def _drop_impedance(table: Table, frequency: Floats) -> None:
    """EC-Lab's mixed techniques: rows with a frequency are impedance (EIS) points, not cycling."""
    eis = np.nan_to_num(frequency) > 0
    if not eis.any():
        return
    if eis.all():
        raise ImportFailed(
            [
                "this is an impedance (EIS) test: every row has a frequency; impedance spectra are not "
                "imported as cycling data (import the cycling technique's file instead)"
            ]
        )
    table.warnings.append(
        row_warning(
            "impedance_rows",
            f"{int(eis.sum())} rows are impedance (EIS) points "
            "(a frequency is set): not imported as cycling data",
            table.row[eis],
        )
    )
    table.take(~eis)
