# ruff: noqa: E501  (the embedded JavaScript keeps its natural line length)
"""The lab around a run: what the station's area was like, and what happened to and around the
station while the experiment ran. Part of the experiment's record (its page and its report).

All of it is read back from InfluxDB over the run's window, so it is there for finished runs and
after a restart of the manager:

- **environment**: the readings of the sensors configured for the station's area
  (``LABDCS_STATION_ENVIRONMENT``, see :mod:`.live`): per quantity the run's minimum, mean and
  maximum and a downsampled series;
- **events**: alarm transitions (raised, cleared, acknowledged) of the station itself (its trips,
  safety aborts and instrument faults are alarms), of its sensors, and of the interlock rules that
  act on the station or read those sensors (a rule in force raises its alarm); and the station's and
  the sensors' offline/online transitions.

Which interlock rules concern the station is known from their retained states (their targets) as
the monitor has heard them; without a broker only the station's and the sensors' own events are
listed.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from labdcs.experiments.access import check_read
from labdcs.experiments.api import ERRORS, services
from labdcs.experiments.documents import Experiment, now_ms
from labdcs.experiments.series import ExperimentSeries, quote
from labdcs.ingest.retention import EVENTS, RAW, TREND

#: Points per environment series: enough for a plot of the whole run.
POINTS = 300
#: Events listed at most (a flapping alarm over a month-long run must not make a page of megabytes).
MAX_EVENTS = 500
#: Fields of every state message that are not readings.
_NOT_READINGS = {"ts", "seq"}


class Quantity(BaseModel):
    sensor: str = Field(description="device/channel")
    quantity: str
    min: float | None = None
    mean: float | None = None
    max: float | None = None
    t: list[int] = Field(default_factory=list, description="ms")
    values: list[float | None] = Field(default_factory=list, description="mean per bucket")


class LabEvent(BaseModel):
    ts: int = Field(description="ms")
    kind: str = Field(description="alarm, offline or online")
    device: str
    name: str = Field(description="The alarm (or the device for availability)")
    severity: str | None = None
    text: str


class LabContext(BaseModel):
    sensors: list[str] = Field(description="The environment sensors configured for the station")
    rules: list[str] = Field(description="Interlock rules concerning the station (device/rule)")
    environment: list[Quantity]
    events: list[LabEvent]
    truncated: bool = Field(default=False, description="More events than listed")


def _regex(names: list[str]) -> str:
    return "/^(" + "|".join(re.escape(n) for n in names) + ")$/"


def _window(experiment: Experiment) -> tuple[int, int] | None:
    if experiment.started is None:
        return None
    return experiment.started, experiment.finished or now_ms()


def lab_context(
    series: ExperimentSeries,
    experiment: Experiment,
    environment: dict[str, list[str]],
    rules: list[tuple[str, str]],
) -> LabContext:
    """The lab around ``experiment``; InfluxError when InfluxDB cannot answer."""
    refs = environment.get(experiment.station, [])
    context = LabContext(sensors=refs, rules=[f"{d}/{r}" for d, r in rules], environment=[], events=[])
    window = _window(experiment)
    if window is None:
        return context
    start, end = window
    span = f"time >= {start}ms AND time <= {end}ms"
    bucket = max(1000, math.ceil((end - start + 1) / POINTS))
    for ref in refs:
        device, _, channel = ref.partition("/")
        scope = f'"device" = {quote(device)}' + (f' AND "channel" = {quote(channel)}' if channel else "")
        # Full resolution while the raw policy keeps it, then the trend's 1-minute means.
        for source, trend in ((f'"{RAW}"."sensor"', False), (f'"{TREND}"."sensor"', True)):
            totals = series.influx.query(
                f'SELECT min(*), mean(*), max(*) FROM {source} WHERE {scope} AND {span} GROUP BY "channel"'
            )
            buckets = series.influx.query(
                f"SELECT mean(*) FROM {source} WHERE {scope} AND {span} "
                f'GROUP BY time({bucket}ms), "channel" fill(none)'
            )
            found = _quantities(device, totals, buckets, trend)
            if found:
                context.environment.extend(found)
                break
    context.events, context.truncated = _events(series, experiment.station, refs, rules, span)
    return context


def _quantities(
    device: str, totals: list[dict[str, Any]], buckets: list[dict[str, Any]], trend: bool
) -> list[Quantity]:
    found: dict[tuple[str, str], Quantity] = {}
    for result in totals:
        for s in result.get("series", []):
            channel = s.get("tags", {}).get("channel", "")
            row = dict(zip(s["columns"], s["values"][0], strict=False))
            for column, value in row.items():
                aggregate, _, name = column.partition("_")
                name = name.removeprefix("mean_") if trend else name
                if aggregate not in ("min", "mean", "max") or name in _NOT_READINGS:
                    continue
                if not isinstance(value, int | float) or isinstance(value, bool):
                    continue
                q = found.setdefault((channel, name), Quantity(sensor=f"{device}/{channel}", quantity=name))
                setattr(q, aggregate, float(value))
    for result in buckets:
        for s in result.get("series", []):
            channel = s.get("tags", {}).get("channel", "")
            columns = s["columns"]
            for (ch, name), q in found.items():
                column = f"mean_mean_{name}" if trend else f"mean_{name}"
                if ch != channel or column not in columns:
                    continue
                index = columns.index(column)
                q.t = [int(v[0]) for v in s["values"]]
                q.values = [v[index] for v in s["values"]]
    return [found[k] for k in sorted(found)]


def _events(
    series: ExperimentSeries, station: str, refs: list[str], rules: list[tuple[str, str]], span: str
) -> tuple[list[LabEvent], bool]:
    devices = sorted({station, *(ref.split("/")[0] for ref in refs)})
    alarm_scope = [f'"device" =~ {_regex(devices)}']
    for interlock in sorted({d for d, _ in rules}):
        names = [r for d, r in rules if d == interlock]
        alarm_scope.append(f'("device" = {quote(interlock)} AND "alarm" =~ {_regex(names)})')
    events: list[LabEvent] = []
    alarms = series.influx.query(
        f'SELECT "active", "message", "acknowledged", "acknowledged_by" FROM "{EVENTS}"."alarm" '
        f'WHERE ({" OR ".join(alarm_scope)}) AND {span} GROUP BY "device", "alarm", "severity" '
        f"LIMIT {MAX_EVENTS + 1}"
    )
    for result in alarms:
        for s in result.get("series", []):
            tags = s.get("tags", {})
            previous: dict[str, Any] | None = None
            for values in s["values"]:
                row = dict(zip(s["columns"], values, strict=False))
                if previous is not None and previous["active"] and not row["active"]:
                    what = "cleared"
                elif row["active"] and (previous is None or not previous["active"]):
                    what = "raised"
                elif row["acknowledged"] is not None and (
                    previous is None or previous["acknowledged"] is None
                ):
                    what = f"acknowledged by {row['acknowledged_by'] or 'someone'}"
                else:
                    what = "active" if row["active"] else "inactive"
                previous = row
                events.append(
                    LabEvent(
                        ts=int(row["time"]), kind="alarm", device=tags.get("device", ""),
                        name=tags.get("alarm", ""), severity=tags.get("severity"),
                        text=f"{what}: {row['message'] or ''}".rstrip(": "),
                    )
                )  # fmt: skip
    online = series.influx.query(
        f'SELECT "online", "reason" FROM "{EVENTS}"."device_online" WHERE "device" =~ {_regex(devices)} AND {span} '
        f'GROUP BY "device" LIMIT {MAX_EVENTS + 1}'
    )
    for result in online:
        for s in result.get("series", []):
            device = s.get("tags", {}).get("device", "")
            for values in s["values"]:
                row = dict(zip(s["columns"], values, strict=False))
                up = bool(row["online"])
                text = ("back online" if up else "offline") + (
                    f": {row['reason']}" if row.get("reason") else ""
                )
                events.append(
                    LabEvent(
                        ts=int(row["time"]),
                        kind="online" if up else "offline",
                        device=device,
                        name=device,
                        text=text,
                    )
                )
    events.sort(key=lambda e: e.ts)
    return events[:MAX_EVENTS], len(events) > MAX_EVENTS


def context_of(request: Request, experiment: Experiment) -> LabContext:
    """The lab context for an API answer: the configured sensors, the rules the monitor knows."""
    svc = services(request)
    hub = svc.monitor
    environment = hub.environment if hub is not None else svc.station_environment
    rules = hub.rules_of(experiment.station) if hub is not None else []
    return lab_context(svc.need_series(), experiment, environment, rules)


def router() -> APIRouter:
    lab = APIRouter(prefix="/api", responses=ERRORS)

    @lab.get("/experiments/{experiment_id}/lab", response_model=LabContext, tags=["experiments"])
    def get_lab_context(request: Request, experiment_id: str) -> LabContext:
        """The lab around the run: the environment readings of the station's area (min, mean, max and
        a series per quantity) and the alarms, trips, interlock and availability events of the station,
        its sensors and the interlock rules acting on it, during the run."""
        experiment = services(request).store.experiment(experiment_id)
        check_read(request, experiment.team, f"experiment '{experiment_id}'")
        return context_of(request, experiment)

    return lab


#: The experiment page's "Lab around the run" panel, loaded by ``<script src defer>`` after the page's
#: own scripts (it uses their helpers: api, esc, say, fmtNum, ...); a file of this site, as the
#: Content-Security-Policy wants, kept here so the page itself changes by two lines.
SCRIPT = r"""
(() => {
const ID = decodeURIComponent(location.pathname.split('/').pop());
const URL_ = '/api/experiments/' + encodeURIComponent(ID);
const UNITS = {temperature: '\u00b0C', dew_point: '\u00b0C', humidity: '%', pressure: 'hPa'};
const box = document.getElementById('labcontext');
box.innerHTML = `<h2>Lab around the run</h2><div class="cards">
 <section class="card panel"><h2>Environment of the station's area</h2><p class="muted" id="lab-sensors"></p>
  <table id="lab-env"><thead><tr><th>sensor</th><th>quantity</th><th>min</th><th>mean</th><th>max</th><th>during the run</th></tr></thead><tbody></tbody></table></section>
 <section class="card panel"><h2>Alarms, trips and interlocks during the run</h2><p class="muted" id="lab-rules"></p>
  <table id="lab-events"><thead><tr><th>when</th><th>into the run</th><th>source</th><th>event</th></tr></thead><tbody></tbody></table></section></div>`;
function spark(q) {
  const ys = q.values.filter(v => v != null); if (ys.length < 2) return '';
  const lo = Math.min(...ys), hi = Math.max(...ys), t0 = q.t[0], t1 = q.t[q.t.length - 1] || t0 + 1;
  const pts = q.t.map((t, k) => q.values[k] == null ? null : `${(120 * (t - t0) / (t1 - t0 || 1)).toFixed(1)},${(22 - 20 * (q.values[k] - lo) / (hi - lo || 1)).toFixed(1)}`).filter(Boolean);
  return `<svg width="120" height="24" viewBox="0 0 120 24" role="img" aria-label="${esc(q.quantity)} during the run"><polyline fill="none" stroke="#1f5fa8" stroke-width="1.3" points="${pts.join(' ')}"/></svg>`;
}
async function load() {
  let e, c;
  const env = $('#lab-env tbody'), events = $('#lab-events tbody');
  try { e = await api(URL_); c = await api(URL_ + '/lab'); }
  catch (err) { sayRow(env, failed(err, 'the environment readings'), true); sayRow(events, failed(err, 'the events'), true); setTimeout(load, 15000); return; }
  const unit = q => UNITS[q.quantity] ? ` ${UNITS[q.quantity]}` : '';
  $('#lab-sensors').textContent = c.sensors.length ? `sensors: ${c.sensors.join(', ')}` : '';
  $('#lab-rules').textContent = c.rules.length ? `interlock rules acting on the station or reading its sensors: ${c.rules.join(', ')}` : '';
  env.innerHTML = c.environment.map(q => `<tr><td>${esc(q.sensor)}</td><td>${esc(q.quantity.replace('_', ' '))}</td><td>${fmtNum(q.min, 3)}${unit(q)}</td>
    <td>${fmtNum(q.mean, 3)}${unit(q)}</td><td>${fmtNum(q.max, 3)}${unit(q)}</td><td>${spark(q)}</td></tr>`).join('');
  if (!c.environment.length) sayRow(env, !c.sensors.length
    ? `No environment sensors are configured for station ${e.station} (LABDCS_STATION_ENVIRONMENT).`
    : e.started == null ? 'The run has not started yet.' : `No readings of ${c.sensors.join(', ')} were recorded during the run.`);
  events.innerHTML = c.events.map(x => `<tr class="${esc(x.kind)}"><td class="when">${fmtWhen(x.ts)}</td><td>${e.started != null ? fmtDuration((x.ts - e.started) / 1000) : ''}</td>
    <td>${esc(x.device)}${x.name !== x.device ? '/' + esc(x.name) : ''}${x.severity ? ` (${esc(x.severity)})` : ''}</td><td class="when">${esc(x.text)}</td></tr>`).join('');
  if (c.truncated) events.insertAdjacentHTML('beforeend', `<tr><td colspan="4" class="nodata">Only the first ${c.events.length} events are listed.</td></tr>`);
  if (!c.events.length) sayRow(events, e.started == null ? 'The run has not started yet.' : 'No alarm, trip, interlock or availability event concerned the station during the run.');
  if (['running', 'paused', 'queued'].includes(e.status)) setTimeout(load, 10000);
}
load();
})();
"""


def script_router() -> APIRouter:
    files = APIRouter(include_in_schema=False)

    @files.get("/ui/labcontext.js")
    def script() -> Response:
        return Response(SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    return files


def report_section(lab: LabContext, started: int | None) -> str:
    """The report's "Lab around the run" section (self-contained HTML, no script)."""
    from labdcs.experiments.report import _when, duration, number

    parts = ["<h2>Lab around the run</h2>"]
    if not lab.sensors:
        parts.append("<p class='note'>No environment sensors are configured for the station.</p>")
    elif not lab.environment:
        parts.append(
            f"<p>No readings of {html.escape(', '.join(lab.sensors))} were recorded during the run.</p>"
        )
    else:
        rows = "".join(
            f"<tr><td>{html.escape(q.sensor)}</td><td>{html.escape(q.quantity)}</td><td>{number(q.min, 3)}</td>"
            f"<td>{number(q.mean, 3)}</td><td>{number(q.max, 3)}</td></tr>"
            for q in lab.environment
        )
        parts.append(
            "<h3>Environment of the station's area</h3><table class='stats'><tr><th>sensor</th><th>quantity</th>"
            f"<th>min</th><th>mean</th><th>max</th></tr>{rows}</table>"
        )
    parts.append("<h3>Alarms, trips, interlocks and availability during the run</h3>")
    if lab.rules:
        parts.append(
            f"<p class='note'>Interlock rules concerning the station: {html.escape(', '.join(lab.rules))}</p>"
        )
    if not lab.events:
        parts.append(
            "<p>No alarm, trip, interlock or availability event concerned the station during the run.</p>"
        )
    else:
        rows = "".join(
            f"<tr><td>{_when(e.ts)}</td><td>{duration((e.ts - started) / 1000) if started is not None else '-'}</td>"
            f"<td>{html.escape(e.device + ('/' + e.name if e.name != e.device else ''))}</td>"
            f"<td>{html.escape(e.severity or '')}</td><td>{html.escape(e.text)}</td></tr>"
            for e in lab.events
        )
        parts.append(
            "<table><tr><th>when (UTC)</th><th>into the run</th><th>source</th><th>severity</th><th>event</th></tr>"
            f"{rows}</table>" + ("<p class='note'>More events than listed.</p>" if lab.truncated else "")
        )
    return "".join(parts)
