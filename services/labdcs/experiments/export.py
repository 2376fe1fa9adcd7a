"""CSV export of an experiment's full-resolution data, with the Battery Data Format's column labels.

Streamed: InfluxDB answers in chunks, each chunk becomes one block of CSV text and is sent before
the next is read, so memory stays the same for ten rows or ten million.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

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
