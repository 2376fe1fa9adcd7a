"""The experiment report: one self-contained HTML file (plots embedded as PNG), readable offline.

Sections: metadata (experiment, cell and datasheet, station, protocol with its text), cycle
statistics table, voltage/current/temperature against time, capacity and efficiency against cycle,
dQ/dV of selected cycles (first, middle, last), and the lab around the run (environment, alarms,
trips, interlocks: :mod:`.labcontext`).
"""

from __future__ import annotations

import base64
import html
import io
import math
import time
from typing import TYPE_CHECKING, Any

from labdcs.experiments.documents import CycleStat, Experiment
from labdcs.experiments.series import ExperimentSeries, Window
from labdcs.experiments.store import Store, StoreError

if TYPE_CHECKING:
    from labdcs.experiments.labcontext import LabContext

DQDV_BIN_V = 0.01


def _figure() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> str:
    plt = _figure()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def time_unit(span_s: float) -> tuple[float, str]:
    """(seconds per unit, unit) that suit a time axis of this span (as the web UI's plots)."""
    for limit, size, unit in ((120, 1.0, "s"), (7200, 60.0, "min"), (259_200, 3600.0, "h")):
        if span_s < limit:
            return size, unit
    return 86_400.0, "days"


def time_plot(data: dict[str, list[Any]], start_ms: int | None = None) -> str | None:
    if not data["t"]:
        return None
    plt = _figure()
    t0 = data["t"][0] if start_ms is None else start_ms
    size, unit = time_unit((data["t"][-1] - t0) / 1000)
    hours = [(t - t0) / 1000 / size for t in data["t"]]
    fig, (ax_v, ax_i) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    ax_v.plot(hours, data["voltage"], color="C0", lw=0.8)
    ax_v.set_ylabel("voltage / V")
    if any(v is not None for v in data.get("temperature", [])):
        twin = ax_v.twinx()
        twin.plot(hours, data["temperature"], color="C3", lw=0.6, alpha=0.7)
        twin.set_ylabel("temperature / degC", color="C3")
    ax_i.plot(hours, data["current"], color="C1", lw=0.8)
    ax_i.set_ylabel("current / A")
    ax_i.set_xlabel(f"test time / {unit}")
    for ax in (ax_v, ax_i):
        ax.grid(alpha=0.3)
    return _png(fig)


def cycle_plot(cycles: list[CycleStat]) -> str | None:
    if not cycles:
        return None
    plt = _figure()
    from matplotlib.ticker import MaxNLocator

    index = [c.cycle_index for c in cycles]
    fig, (ax_q, ax_e) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    ax_q.plot(index, [c.discharge_capacity for c in cycles], "o-", ms=2.5, lw=0.8, label="discharge")
    ax_q.plot(index, [c.charge_capacity for c in cycles], "s-", ms=2.5, lw=0.8, label="charge")
    ax_q.set_ylabel("capacity / Ah")
    ax_q.legend()
    ax_e.plot(index, [_pct(c.coulombic_efficiency) for c in cycles], "o-", ms=2.5, lw=0.8, label="coulombic")
    ax_e.plot(index, [_pct(c.energy_efficiency) for c in cycles], "s-", ms=2.5, lw=0.8, label="energy")
    ax_e.set_ylabel("efficiency / %")
    ax_e.set_xlabel("cycle")
    ax_e.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole cycles, each once
    ax_e.legend()
    for ax in (ax_q, ax_e):
        ax.grid(alpha=0.3)
    return _png(fig)


def _pct(value: float | None) -> float | None:
    return None if value is None else value * 100


def dqdv(samples: list[list[Any]]) -> tuple[list[float], list[float]]:
    """dQ/dV (Ah/V) of a cycle's discharge, binned by voltage: ``samples`` are
    ``[time, voltage, current, charge_capacity, discharge_capacity]`` rows."""
    bins: dict[int, float] = {}
    previous: list[Any] | None = None
    for row in samples:
        if row[1] is None or row[2] is None or row[4] is None:
            previous = None
            continue
        if previous is not None and row[2] < 0 and previous[2] < 0:
            dq = row[4] - previous[4]
            key = int(((row[1] + previous[1]) / 2) // DQDV_BIN_V)
            bins[key] = bins.get(key, 0.0) + dq
        previous = row
    keys = sorted(bins)
    return [(k + 0.5) * DQDV_BIN_V for k in keys], [bins[k] / DQDV_BIN_V for k in keys]


def dqdv_plot(series: ExperimentSeries, experiment: Experiment, cycles: list[CycleStat]) -> str | None:
    if not cycles:
        return None
    chosen = sorted({cycles[0].cycle_index, cycles[len(cycles) // 2].cycle_index, cycles[-1].cycle_index})
    plt = _figure()
    fig, ax = plt.subplots(figsize=(9, 4))
    drawn = False
    for cycle in chosen:
        volts, values = dqdv(
            series.cycle_samples(
                experiment.id,
                cycle,
                Window(experiment.started, experiment.finished, experiment.station, experiment.channel),
            )
        )
        if volts:
            ax.plot(volts, values, lw=1.0, label=f"cycle {cycle}")
            drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("voltage / V")
    ax.set_ylabel("dQ/dV (discharge) / Ah/V")
    ax.grid(alpha=0.3)
    ax.legend()
    return _png(fig)


STATS_HEAD = (
    "cycle", "start", "duration", "charge / Ah", "discharge / Ah", "charge / Wh", "discharge / Wh",
    "CE / %", "EE / %", "V min", "V max", "T max / degC",
)  # fmt: skip


def _stats_row(c: CycleStat) -> tuple[object, ...]:
    return (
        c.cycle_index,
        _when(c.start),
        duration(c.duration),
        number(c.charge_capacity),
        number(c.discharge_capacity),
        number(c.charge_energy),
        number(c.discharge_energy),
        number(_pct(c.coulombic_efficiency), 5),
        number(_pct(c.energy_efficiency), 5),
        number(c.v_min),
        number(c.v_max),
        number(c.t_max, 3),
    )


def _when(ms: int | None) -> str:
    return "-" if ms is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ms / 1000))


def number(value: float | None, digits: int = 4) -> str:
    """About ``digits`` significant digits in plain decimals (3.831, 0.4172, 12346; never 2.09e-07)."""
    if value is None or not math.isfinite(value):
        return "-"
    if value == 0:
        return "0"
    if abs(value) >= 1e15:
        return f"{value:.{digits - 1}e}"
    decimals = min(6, max(0, digits - 1 - math.floor(math.log10(abs(value)))))
    text = f"{value:.{decimals}f}"
    return "0" if float(text) == 0 else text


def duration(seconds: float | None) -> str:
    """As a clock shows it: ``0:02:05``; past a day ``1 d 03:46:40``."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    total = max(0, round(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days} d {hours:02d}:{minutes:02d}:{secs:02d}" if days else f"{hours}:{minutes:02d}:{secs:02d}"


def _table(rows: list[tuple[str, str]]) -> str:
    return "<table class='meta'>" + "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows
    ) + "</table>"  # fmt: skip


STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
table.meta th{background:#f4f4f4;width:14em}table.stats td{text-align:right}
pre{background:#f7f7f7;padding:1em;overflow:auto}img{max-width:100%}.note{color:#666;font-size:.85em}
"""


def render_report(
    store: Store, series: ExperimentSeries, experiment: Experiment, lab: LabContext | None = None
) -> str:
    """The report as one HTML string; ``lab``: the lab around the run (:mod:`.labcontext`)."""
    cycles = store.cycles(experiment.id)
    window = Window(experiment.started, experiment.finished, experiment.station, experiment.channel)
    overview = series.overview(experiment.id, window, points=2000)
    sections: list[str] = []
    meta = [
        ("experiment", experiment.id),
        ("name", experiment.name),
        ("description", experiment.description or "-"),
        (
            "status",
            experiment.status.value + (f" ({experiment.end_reason})" if experiment.end_reason else ""),
        ),
        ("source", experiment.source),
        ("station / channel", f"{experiment.station} / {experiment.channel}"),
        ("created", _when(experiment.created)),
        ("started", _when(experiment.started)),
        ("finished", _when(experiment.finished)),
        (
            "duration",
            duration((experiment.finished - experiment.started) / 1000)
            if experiment.started is not None and experiment.finished is not None
            else "-",
        ),
        ("cycles", str(len(cycles))),
        ("operator", experiment.operator or "-"),
    ]
    sections.append("<h2>Experiment</h2>" + _table(meta))
    try:
        cell = store.cell(experiment.cell)
        cell_type = store.cell_type(cell.type)
        limits, capacity = store.cell_envelope(cell)
        limit_text = (
            f"{number(limits.v_min)}..{number(limits.v_max)} V, charge {number(limits.i_charge_max)} A, "
            f"discharge {number(limits.i_discharge_max)} A, max {number(limits.t_max_c)} degC"
        )
        rows = [
            ("serial", cell.serial),
            ("type", f"{cell_type.manufacturer} {cell_type.model} ({cell_type.technology.value})"),
            ("chemistry / form factor", f"{cell_type.chemistry or '-'} / {cell_type.form_factor or '-'}"),
            ("configuration", f"{cell.series}S{cell.parallel}P"),
            ("nominal", f"{capacity:g} Ah, {cell_type.nominal_voltage_v * cell.series:g} V"),
            ("limits", limit_text),
        ]
        sections.append("<h2>Cell</h2>" + _table(rows))
    except StoreError:
        sections.append(f"<h2>Cell</h2><p>{html.escape(experiment.cell)} (not registered)</p>")
    try:
        protocol = store.protocol(experiment.protocol)
        sections.append(
            f"<h2>Protocol {html.escape(protocol.id)}</h2>"
            f"<p class='note'>content hash {protocol.hash[:16]}…, origin {html.escape(protocol.origin)}</p>"
            f"<pre>{html.escape(protocol.text or str(protocol.document))}</pre>"
        )
    except StoreError:
        sections.append(f"<h2>Protocol</h2><p>{html.escape(experiment.protocol)}</p>")
    plot = time_plot(overview, experiment.started)
    sections.append(
        "<h2>Voltage, current and temperature</h2>"
        + (f"<img alt='voltage and current against time' src='{plot}'>" if plot else "<p>No samples.</p>")
    )
    plot = cycle_plot(cycles)
    if plot:
        sections.append(
            f"<h2>Capacity and efficiency per cycle</h2><img alt='capacity and efficiency' src='{plot}'>"
        )
    plot = dqdv_plot(series, experiment, cycles)
    if plot:
        sections.append(f"<h2>Differential capacity</h2><img alt='dQ/dV' src='{plot}'>")
    if cycles:
        head = "".join(f"<th>{h}</th>" for h in STATS_HEAD)
        body = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in _stats_row(c)) + "</tr>" for c in cycles)
        sections.append(f"<h2>Cycle statistics</h2><table class='stats'><tr>{head}</tr>{body}</table>")
    if lab is not None:
        from labdcs.experiments.labcontext import report_section

        sections.append(report_section(lab, experiment.started))
    title = html.escape(f"{experiment.name} ({experiment.id})")
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{STYLE}</style></head><body><h1>{title}</h1>"
        f"<p class='note'>labdcs experiment report, generated {_when(int(time.time() * 1000))}</p>"
        + "".join(sections)
        + "</body></html>"
    )
