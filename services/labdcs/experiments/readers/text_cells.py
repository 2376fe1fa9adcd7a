"""Cells of a delimited text file into numbers: plain numbers (decimal point or comma) and
durations (``h:mm:ss.f``, ``1d 02:03:04.5``) in seconds, every cell that is neither a problem that
names its row and column (kept apart from :mod:`text`, which reads the file and assembles the table)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from labdcs.experiments.formats import MAX_PROBLEMS, Column, Layout
from labdcs.experiments.readers.table import Floats, Ints

_DURATION = r"^\s*(?:(\d+)\s*d\s*)?(\d+):(\d{1,2}):(\d{1,2}(?:\.\d*)?)\s*$"


def shown(text: object) -> str:
    """A cell as shown in a problem: quoted, at most 40 characters."""
    cell = str(text)
    return repr(cell if len(cell) <= 40 else cell[:40] + "...")


def parse_numbers(
    series: pd.Series, rows: Ints, column: Column, quantity: str, layout: Layout, problems: list[str]
) -> Floats:
    if series.dtype.kind in "iuf":
        values = series.to_numpy(dtype=np.float64)
    else:
        text = series.astype(str)
        if layout.decimal_comma:
            text = text.str.replace(",", ".", regex=False)
        values = pd.to_numeric(text.str.strip(), errors="coerce").to_numpy(dtype=np.float64, copy=True)
        values[series.isna().to_numpy()] = np.nan
        bad = np.isnan(values) & series.notna().to_numpy()
        limit = csv.field_size_limit()
        for k in np.flatnonzero(bad)[: MAX_PROBLEMS - len(problems)]:
            cell = str(series.iloc[k])
            if len(cell) > limit:
                problems.append(
                    f"row {rows[k]}: a field longer than {limit} characters; this is not a data table"
                )
            else:
                problems.append(f"row {rows[k]}, column '{column.name}': {shown(cell)} is not a number")
    infinite = np.isinf(values)
    for k in np.flatnonzero(infinite)[: max(0, MAX_PROBLEMS - len(problems))]:
        problems.append(f"row {rows[k]}, column '{column.name}': {values[k]!r} is not a number")
    result: Floats = values
    return result


def parse_durations_fast(series: pd.Series, decimal_comma: bool) -> Floats | None:
    """Durations of one shape (``Dd hh:mm:ss.f``, ``hh:mm:ss.f`` or plain numbers on every row)
    parsed by pandas' C reader: the cells joined into one text whose separators become commas.
    None when the shapes are mixed (then :func:`parse_durations`, by regular expression)."""
    n = len(series)
    if n == 0:
        return np.zeros(0)
    text = "\n".join(series.fillna("").tolist())
    if decimal_comma:
        text = text.replace(",", ".")
    elif "," in text:
        return None
    colons, days = text.count(":"), text.count("d")
    blanks = int(series.isna().sum())
    if colons not in (0, 2 * (n - blanks)) or days not in (0, n - blanks):
        return None
    text = text.replace(" ", "").replace("d", ",").replace(":", ",")
    width = (1 if colons == 0 else 3) + (1 if days else 0)
    try:
        frame = pd.read_csv(io.StringIO(text + "\n"), header=None, names=list(range(width)), dtype=np.float64,
                            skip_blank_lines=False, engine="c")  # fmt: skip
    except (ValueError, pd.errors.ParserError):
        return None
    if len(frame) != n:
        return None
    weights = [86400.0, 3600.0, 60.0, 1.0][-width:] if colons else [1.0]
    seconds = sum(frame[k].to_numpy(dtype=np.float64) * w for k, w in enumerate(weights))
    result: Floats = np.asarray(seconds, dtype=np.float64)
    return result


def parse_durations(series: pd.Series, rows: Ints, column: Column, problems: list[str]) -> Floats:
    """``h:mm:ss.fff`` or ``1d 02:03:04.5`` (Maccor, Neware) in seconds; plain numbers too."""
    numeric = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, copy=True)
    todo = np.isnan(numeric) & series.notna().to_numpy()
    if todo.any():
        parts = series[todo].str.extract(_DURATION)
        days = pd.to_numeric(parts[0], errors="coerce").fillna(0).to_numpy(dtype=np.float64)
        seconds = (
            days * 86400
            + pd.to_numeric(parts[1], errors="coerce").to_numpy(dtype=np.float64) * 3600
            + pd.to_numeric(parts[2], errors="coerce").to_numpy(dtype=np.float64) * 60
            + pd.to_numeric(parts[3], errors="coerce").to_numpy(dtype=np.float64)
        )
        numeric[todo] = seconds
        bad = np.flatnonzero(todo)[np.isnan(seconds)]
        for k in bad[: max(0, MAX_PROBLEMS - len(problems))]:
            problems.append(
                f"row {rows[k]}, column '{column.name}': {shown(series.iloc[k])} is not a duration"
            )
    result: Floats = numeric
    return result
