"""Export of an experiment's full-resolution data in the Battery Data Format: BDF CSV and BDF
Parquet (column labels as the BDF spells them, current positive while charging), and the
normalised :class:`~labdcs.experiments.readers.table.Table` as BDF and back.

Streamed: InfluxDB answers in chunks, each chunk becomes one block of CSV text and is sent before
the next is read, so memory stays the same for ten rows or ten million.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from labdcs.experiments.readers.table import NS, Meta, Table
from labdcs.experiments.series import BDF_COLUMNS, UNIX_TIME, ExperimentSeries, Window

HEADER = ",".join([UNIX_TIME, *(label for label, _ in BDF_COLUMNS)]) + "\n"
FIELDS = [name for _, name in BDF_COLUMNS]


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def csv_chunks(
    series: ExperimentSeries, experiment: str, window: Window, lines_per_chunk: int = 5000
) -> Iterator[str]:
    """The header, then blocks of about ``lines_per_chunk`` lines. InfluxDB is asked before the header
    is produced, so an unreachable database fails the request instead of truncating the file."""
    rows = series.rows(experiment, window, FIELDS)
    first = next(rows, None)
    yield HEADER
    if first is None:
        return
    block: list[str] = []
    for row in itertools.chain([first], rows):
        block.append(f"{row[0] / 1000:.3f}," + ",".join(map(_cell, row[1:])))
        if len(block) >= lines_per_chunk:
            block.append("")
            yield "\n".join(block)
            block = []
    if block:
        block.append("")
        yield "\n".join(block)


# --- BDF Parquet, and the normalised Table as BDF ---------------------------------------------------

PARQUET_ROWS_PER_GROUP = 50_000
"""Rows held in memory at once while an experiment is written as Parquet (one row group)."""
_TYPES = {"cycle_index": "int64", "step_index": "int64"}


def _schema() -> pa.Schema:
    columns = [pa.field(UNIX_TIME, pa.float64())]
    for label, name in BDF_COLUMNS:
        columns.append(pa.field(label, pa.int64() if name in _TYPES else pa.float64()))
    return pa.schema(columns)


def parquet_file(series: ExperimentSeries, experiment: str, window: Window, sink: BinaryIO) -> int:
    """The experiment's full-resolution data as BDF Parquet into ``sink``, one row group per
    :data:`PARQUET_ROWS_PER_GROUP` rows (memory bounded by one group); returns the rows written."""
    schema = _schema()
    written = 0
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        block: list[list[Any]] = []

        def flush() -> None:
            columns = list(zip(*block, strict=True))
            arrays = [pa.array([t / 1000 for t in columns[0]], pa.float64())]
            arrays += [pa.array(c, schema.field(i + 1).type) for i, c in enumerate(columns[1:])]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))

        for row in series.rows(experiment, window, FIELDS):
            block.append(row)
            if len(block) >= PARQUET_ROWS_PER_GROUP:
                flush()
                written += len(block)
                block = []
        if block:
            flush()
            written += len(block)
    return written


def table_to_bdf(table: Table) -> pa.Table:
    """A :class:`Table` as BDF columns (labels as the Battery Data Format spells them)."""
    seconds = table.time_ns.astype(np.float64) / NS
    columns: dict[str, Any] = {}
    if table.meta.start_ns is not None:
        columns[UNIX_TIME] = seconds + table.meta.start_ns / NS
    columns["Test Time / s"] = seconds
    columns["Voltage / V"] = table.voltage
    columns["Current / A"] = table.current
    optional = (
        ("Temperature T1 / degC", table.temperature),
        ("Cycle Count / 1", table.cycle),
        ("Step Index / 1", table.step),
        ("Charging Capacity / Ah", table.charge_capacity),
        ("Discharging Capacity / Ah", table.discharge_capacity),
        ("Charging Energy / Wh", table.charge_energy),
        ("Discharging Energy / Wh", table.discharge_energy),
    )
    columns.update({label: values for label, values in optional if values is not None})
    return pa.table(columns)


def write_table(table: Table, path: Path) -> None:
    """``path`` ending ``.parquet`` gets BDF Parquet, anything else BDF CSV (floats written exactly:
    the shortest text that reads back as the same number)."""
    frame = table_to_bdf(table)
    if path.suffix == ".parquet":
        pq.write_table(frame, path, compression="zstd")
    else:
        pacsv.write_csv(frame, path)


def read_table(path: Path, source_format: str = "bdf") -> Table:
    """A BDF CSV or Parquet file as a :class:`Table` (the inverse of :func:`write_table`)."""
    frame = pq.read_table(path) if path.suffix == ".parquet" else pacsv.read_csv(path)
    names = set(frame.column_names)

    def column(label: str) -> npt.NDArray[Any] | None:
        if label not in names:
            return None
        values: npt.NDArray[Any] = frame.column(label).to_numpy()
        return values

    seconds = column("Test Time / s")
    if seconds is None:
        raise ValueError(f"{path.name}: no 'Test Time / s' column")
    time_ns = np.round(seconds.astype(np.float64) * 1e9).astype(np.int64)
    meta = Meta(source_format=source_format, vendor="Battery Data Format")
    unix = column(UNIX_TIME)
    if unix is not None and len(unix):
        meta.start_ns = round((float(unix[0]) - float(seconds[0])) * 1e6) * 1000
        meta.start_source = f"column '{UNIX_TIME}'"

    def ints(label: str) -> npt.NDArray[np.int64] | None:
        values = column(label)
        return None if values is None else values.astype(np.int64)

    voltage, current = column("Voltage / V"), column("Current / A")
    if voltage is None or current is None:
        raise ValueError(f"{path.name}: no 'Voltage / V' or 'Current / A' column")
    return Table(
        meta=meta,
        row=np.arange(2, len(time_ns) + 2, dtype=np.int64),
        time_ns=time_ns,
        voltage=voltage.astype(np.float64),
        current=current.astype(np.float64),
        temperature=column("Temperature T1 / degC"),
        cycle=ints("Cycle Count / 1"),
        step=ints("Step Index / 1"),
        charge_capacity=column("Charging Capacity / Ah"),
        discharge_capacity=column("Discharging Capacity / Ah"),
        charge_energy=column("Charging Energy / Wh"),
        discharge_energy=column("Discharging Energy / Wh"),
    )
