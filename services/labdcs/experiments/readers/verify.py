"""Policies that make a :class:`Table` trustworthy before anything is written, or refuse it.

Time (kept as the file says it, to the nanosecond):

- **exact duplicate rows** (every kept value equal to the row before) are dropped and counted;
- **ties** (same time as the row before, other values differ: a coarse time resolution, or a step
  change logged twice) are kept in file order, each 1 ns after the one before (InfluxDB keeps one
  point per timestamp);
- **resets** (time going back) start a new segment that continues from the previous row's time;
  more than :data:`MAX_RESETS` of them mean the column is not a test time, and the file is refused;
- the time column's unit is checked against a wall-clock column when there is one (a Maccor
  ``TestTime`` in minutes, a BDF time in hours) and corrected with a warning;
- a test spanning more than :data:`MAX_SPAN_S` is refused before anything is written.

Current sign (positive while charging), decided from the data: a direction column (Maccor
``State``/``Md``, Neware ``Step Type``) either agrees with an already signed current or signs an
unsigned one; the file's own capacity/energy accumulators are compared with our recomputation
(throughput, reset-tolerant): swapped directions without a direction column mean the file's
convention is +discharge (flipped, with a warning); a disagreement beyond :data:`REL_TOLERANCE` is
flagged in the import result.
"""

from __future__ import annotations

import numpy as np

from labdcs.experiments.formats import MAX_PROBLEMS, ImportFailed, Layout
from labdcs.experiments.readers.table import NS, Floats, Ints, RowWarning, Table, row_warning

MAX_RESETS = 100
MAX_SPAN_S = 5 * 365.25 * 86400
"""Five years: longer cycler tests exist only as several files."""
REL_TOLERANCE = 0.03
"""Recomputed charge/discharge throughput vs the file's own accumulators: 3% of the larger (the
trapezoid over the file's samples against the cycler's internal integration, which samples faster),
plus the accumulator's last printed digit."""
MIN_CURRENT = 1e-9


def _warn(table: Table, kind: str, message: str, rows: Ints) -> None:
    table.warnings.append(row_warning(kind, message, rows))


def drop_duplicates(table: Table) -> None:
    if len(table) < 2:
        return
    same = np.ones(len(table) - 1, dtype=bool)
    for name, column in table.columns().items():
        if name in ("row", "direction"):
            continue
        a, b = column[1:], column[:-1]
        if column.dtype.kind == "f":
            same &= (a == b) | (np.isnan(a) & np.isnan(b))
        else:
            same &= a == b
    if table.direction is not None:
        same &= table.direction[1:] == table.direction[:-1]
    duplicate = np.concatenate(([False], same))
    if duplicate.any():
        _warn(
            table,
            "duplicate_rows",
            f"{int(duplicate.sum())} rows repeat the row before exactly: dropped",
            table.row[duplicate],
        )
        table.take(~duplicate)


def fix_time(table: Table) -> None:
    """Resets continued as segments, ties spread by 1 ns; see the module docstring."""
    t = table.time_ns
    if len(t) < 2:
        table.segment = np.zeros(len(t), dtype=np.int64)
        return
    t, glitches = _glitches(table, t)
    dt = np.diff(t)
    back = dt < 0
    resets = np.flatnonzero(back) + 1
    if len(resets) > MAX_RESETS:
        named = ", ".join(str(r) for r in table.row[resets[:5]])
        raise ImportFailed(
            [
                f"the time goes back {len(resets)} times (rows {named}, ...): this column is not a test time "
                "(is the file sorted? is it the step time?); name the right column with a mapping"
            ]
        )
    table.segment = np.concatenate(([0], np.cumsum(back))).astype(np.int64)
    if len(resets):
        offset = np.concatenate(([0], np.cumsum(np.where(back, -dt, 0))))
        t = t + offset
        _warn(
            table,
            "time_reset",
            f"the time goes back {len(resets)} time(s) (a reset): each new segment "
            "continues from the previous row's time",
            table.row[resets],
        )
    tie = np.concatenate(([False], np.diff(t) == 0))
    if tie.any():
        index = np.arange(len(t))
        run_start = np.maximum.accumulate(np.where(tie, 0, index))
        t = t + (index - run_start)
        tie[resets] = False  # a reset's first row continues at the previous time: not a tie of the file's
        tie[glitches] = False
    if tie.any():
        _warn(
            table,
            "time_tie",
            f"{int(tie.sum())} rows have the same time as the row before (the file's "
            "time resolution): kept in file order, 1 ns apart",
            table.row[tie],
        )
        if (np.diff(t) <= 0).any():
            bad = table.row[np.flatnonzero(np.diff(t) <= 0) + 1]
            raise ImportFailed([f"row {bad[0]}: more rows share one time than the next time leaves room for"])
    table.time_ns = t


def _glitches(table: Table, t: Ints) -> tuple[Ints, Ints]:
    """One row whose time goes back while the next row continues the sequence (a Neware export
    writes 0 on a step's first row): its time is the previous row's (then a tie), with a warning."""
    if len(t) < 3:
        return t, np.zeros(0, dtype=np.int64)
    k = np.flatnonzero((t[1:-1] < t[:-2]) & (t[2:] >= t[:-2])) + 1
    if len(k) == 0:
        return t, k
    t = t.copy()
    t[k] = t[k - 1]
    _warn(
        table,
        "time_glitch",
        f"{len(k)} rows have a time out of sequence between rows that are in "
        "sequence: set to the previous row's time",
        table.row[k],
    )
    return t, k


def check_time_unit(table: Table) -> None:
    """Against the wall clock: a time column in minutes or hours where seconds were expected."""
    span_clock = table.meta.clock_span_s
    if span_clock is None or span_clock <= 600 or len(table) < 2:
        return
    first, last = table.meta.clock_rows
    rows = table.row
    k0, k1 = np.searchsorted(rows, first), np.searchsorted(rows, last)
    if k1 >= len(rows) or k0 >= k1:
        return
    span_time = (table.time_ns[k1] - table.time_ns[k0]) / NS
    if span_time <= 0:
        return
    ratio = span_clock / span_time
    for factor, unit in ((60.0, "minutes"), (3600.0, "hours")):
        if abs(ratio / factor - 1) < 0.05:
            table.time_ns = np.rint(table.time_ns.astype(np.float64) * factor).astype(np.int64)
            if table.meta.start_ns is not None:
                table.meta.start_ns -= int(table.time_ns[k0] - table.time_ns[k0] / factor)
            table.warnings.append(
                RowWarning(
                    "time_unit",
                    f"the time column is in {unit} (its span matches the "
                    "wall-clock column's only so): converted to seconds",
                )
            )
            return


def check_span(table: Table) -> None:
    span = (table.time_ns[-1] - table.time_ns[0]) / NS if len(table) else 0.0
    if span > MAX_SPAN_S:
        years = span / (365.25 * 86400)
        raise ImportFailed(
            [
                f"rows {table.row[0]}..{table.row[-1]}: the test would span {years:.1f} years; "
                "a cycler test that long is implausible (is the time column in hours or ms, not seconds?); "
                "nothing was written"
            ]
        )


def plausible(
    table: Table, layout: Layout, v: tuple[float, float], i_abs: float, temp: tuple[float, float]
) -> None:
    problems: list[str] = []
    names = {q: c.name for q, c in layout.columns.items()}

    def flag(mask: np.ndarray, text: str, values: Floats) -> None:
        quantity = (
            "voltage" if values is table.voltage else "current" if values is table.current else "temperature"
        )
        for k in np.flatnonzero(mask)[: max(0, MAX_PROBLEMS - len(problems))]:
            problems.append(
                f"row {table.row[k]}, column '{names.get(quantity, quantity)}': {text.format(values[k])}"
            )

    flag(
        (table.voltage < v[0]) | (table.voltage > v[1]),
        f"{{:g}} V is outside the plausible {v[0]:g}..{v[1]:g} V",
        table.voltage,
    )
    flag(np.abs(table.current) > i_abs, f"{{:g}} A is beyond the plausible ±{i_abs:g} A", table.current)
    if table.temperature is not None:
        t = table.temperature
        flag(
            ~np.isnan(t) & ((t < temp[0]) | (t > temp[1])),
            f"{{:g}} degC is outside {temp[0]:g}..{temp[1]:g} degC",
            t,
        )
    if problems:
        raise ImportFailed(problems)


# --- current sign -------------------------------------------------------------------------------


def _direction_class(codes: np.ndarray) -> Ints:
    """+1 charge, -1 discharge, 0 anything else, from a vendor's state codes."""
    text = np.char.upper(np.char.strip(codes.astype(str)))
    out = np.zeros(len(text), dtype=np.int64)
    discharge = (
        np.char.startswith(text, "D")
        | (np.char.find(text, "DCHG") >= 0)
        | (np.char.find(text, "DISCHARGE") >= 0)
    )
    charge = ~discharge & (
        np.char.startswith(text, "C") & (np.char.find(text, "DCHG") < 0) | (np.char.find(text, "CHG") >= 0)
    )
    out[charge] = 1
    out[discharge] = -1
    return out


def decide_sign(table: Table, layout: Layout, direction_name: str) -> None:
    if layout.current_sign == "+discharge":
        table.current = -table.current
        table.meta.current_sign = "declared +discharge in the mapping: negated to +charge"
    if table.direction is None:
        table.meta.current_sign = table.meta.current_sign or "signed in the file"
        return
    if layout.format == "maccor":
        codes = np.char.upper(np.char.strip(table.direction.astype(str)))
        unknown = ~np.isin(np.char.ljust(codes, 1).astype("<U1"), list("CDROS")) | (codes == "")
        if unknown.any():
            rows = table.row[unknown]
            raise ImportFailed(
                [
                    f"row {r}, column '{direction_name}': {table.direction[k]!r} "
                    "is not a state (C, D, R, O, S)"
                    for r, k in zip(rows[:MAX_PROBLEMS], np.flatnonzero(unknown)[:MAX_PROBLEMS], strict=True)
                ]
            )
    cls = _direction_class(table.direction)
    flowing = np.abs(table.current) > MIN_CURRENT
    d_rows = (cls == -1) & flowing
    c_rows = (cls == 1) & flowing
    if (table.current[d_rows] < 0).any():  # already signed: verify it agrees with the directions
        disagree = (d_rows & (table.current > 0)) | (c_rows & (table.current < 0))
        if disagree.sum() > max(2, 0.001 * flowing.sum()):
            rows = table.row[disagree]
            raise ImportFailed(
                [
                    f"the current's sign disagrees with column '{direction_name}' "
                    f"at {int(disagree.sum())} rows "
                    f"(rows {', '.join(str(r) for r in rows[:5])}, ...): which one is right cannot be told"
                ]
            )
        table.meta.current_sign = f"signed in the file (agrees with column '{direction_name}')"
    else:
        table.current = np.where(cls == -1, -np.abs(table.current), table.current)
        table.meta.current_sign = f"from column '{direction_name}' (D/DChg = discharge)"
    table.direction = None


def throughput(table: Table, rule: str = "trapezoid") -> tuple[float, float, float, float]:
    """Our (charge Ah, discharge Ah, charge Wh, discharge Wh), split by the current's sign: the
    trapezoid, or ``right`` (each row's current over the interval before it: EC-Lab's own dq).
    Summed a million rows at a time: the temporaries stay small whatever the file's length."""
    sums = [0.0, 0.0, 0.0, 0.0]
    n = len(table)
    for first in range(1, n, 1 << 20):
        last = min(n, first + (1 << 20))
        dt = np.diff(table.time_ns[first - 1 : last]).astype(np.float64) / NS / 3600
        i, v = table.current[first - 1 : last], table.voltage[first - 1 : last]
        power = i * v
        if rule == "right":
            amps, watts = i[1:], power[1:]
        else:
            amps, watts = (i[1:] + i[:-1]) / 2, (power[1:] + power[:-1]) / 2
        ah, wh = amps * dt, np.abs(watts * dt)
        sums[0] += float(ah[amps > 0].sum())
        sums[1] -= float(ah[amps < 0].sum())
        sums[2] += float(wh[amps > 0].sum())
        sums[3] += float(wh[amps < 0].sum())
    return sums[0], sums[1], sums[2], sums[3]


def resolution_ah(table: Table) -> tuple[float, float]:
    """(Ah, Wh) our totals may be off by the current's printed resolution alone (half its last
    digit over the time a current flows): a file printing 0.0002 A can only be checked to 25%."""
    if len(table) < 2:
        return 0.0, 0.0
    levels = np.unique(np.abs(table.current[:1_000_000]))
    steps = np.diff(levels)
    step = float(steps[steps > 0].min()) if (steps > 0).any() else 0.0
    dt = np.diff(table.time_ns).astype(np.float64) / NS / 3600
    flowing = float(dt[(table.current[1:] != 0) | (table.current[:-1] != 0)].sum())
    volts = float(np.abs(table.voltage).max()) if len(table) else 0.0
    return step / 2 * flowing, step / 2 * flowing * volts


def _file_total(column: Floats, where: np.ndarray | None = None) -> float:
    """An accumulator's total: its increases summed (it may reset at steps, cycles or never)."""
    up = np.diff(np.abs(column))
    if where is not None:
        up = up[where[1:]]
    return float(up[up > 0].sum())


def _close(ours: float, theirs: float, slack: float = 0.0) -> bool:
    return abs(ours - theirs) <= REL_TOLERANCE * max(abs(ours), abs(theirs)) + 1e-5 + slack


def _swapped(table: Table) -> bool:
    """The file's charge accumulator grows while our current is negative (and the discharge one while
    it is positive), on most rows: its convention is +discharge."""
    assert table.charge_capacity is not None and table.discharge_capacity is not None
    amps = (table.current[1:] + table.current[:-1]) / 2
    grows_c = np.diff(table.charge_capacity) > 0
    grows_d = np.diff(table.discharge_capacity) > 0
    against = int((grows_c & (amps < 0)).sum() + (grows_d & (amps > 0)).sum())
    along = int((grows_c & (amps > 0)).sum() + (grows_d & (amps < 0)).sum())
    return against > 10 * max(1, along)


def verify_accumulators(table: Table, has_direction: bool, rule: str = "trapezoid") -> None:
    c_ah, d_ah, c_wh, d_wh = throughput(table, rule)
    pairs: list[tuple[str, float, float]] = []
    if table.charge_capacity is not None and table.discharge_capacity is not None:
        fc, fd = _file_total(table.charge_capacity), _file_total(table.discharge_capacity)
        if _swapped(table):
            if has_direction:
                raise ImportFailed(
                    [
                        f"charge and discharge are swapped against the file's own capacity columns (file: "
                        f"{fc:.6g} Ah charged, {fd:.6g} Ah discharged; the current says the opposite)"
                    ]
                )
            table.current = -table.current
            table.meta.current_sign = (
                "positive on discharge in this file (its own capacity columns say so): negated"
            )
            table.warnings.append(
                RowWarning(
                    "current_sign",
                    "the current is positive on discharge in this file "
                    "(its capacity columns say so): negated to the BDF convention",
                )
            )
            c_ah, d_ah, c_wh, d_wh = throughput(table, rule)
        pairs += [("charge capacity", c_ah, fc), ("discharge capacity", d_ah, fd)]
    if table.charge_energy is not None and table.discharge_energy is not None:
        pairs += [
            ("charge energy", c_wh, _file_total(table.charge_energy)),
            ("discharge energy", d_wh, _file_total(table.discharge_energy)),
        ]
    if table.capacity is not None:
        pairs.append(("capacity (both directions)", c_ah + d_ah, _file_total(table.capacity)))
    if table.energy is not None:
        pairs.append(("energy (both directions)", c_wh + d_wh, _file_total(table.energy)))
    slack_ah, slack_wh = resolution_ah(table)
    for name, ours, theirs in pairs:
        unit = "Wh" if "energy" in name else "Ah"
        if not _close(ours, theirs, slack_wh if unit == "Wh" else slack_ah):
            table.warnings.append(
                RowWarning(
                    "accumulator_mismatch",
                    f"recomputed {name} {ours:.6g} {unit} differs from the file's own {theirs:.6g} {unit} "
                    f"by more than {REL_TOLERANCE:.0%} and the current's printed resolution: "
                    "check the current's unit and sign",
                )
            )
        table.checks.append((name, ours, theirs))
