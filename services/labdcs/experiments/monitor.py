# ruff: noqa: E501  (embedded HTML, CSS and JavaScript keep their natural line length)
"""The monitor: every station channel of the lab on one screen, live.

``GET /monitor`` is the page; ``GET /api/monitor/stream`` pushes its rows as Server-Sent Events (a
``snapshot`` event with every row, then one event per changed row) from :class:`~.live.MonitorHub`;
``GET /api/monitor`` answers the same rows once (scripts, the benchmark). The page keeps the UI's
Content-Security-Policy (its scripts and style carry the response's nonce; no inline handlers) and
its login (the stream is an ordinary GET behind the same Basic login).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from labdcs.experiments.access import readable_teams
from labdcs.experiments.api import ERRORS
from labdcs.experiments.live import (
    MonitorHub,
    MonitorRow,
    Subscription,
    TooManyStreams,
    snapshot,
    sse,
    visible,
)
from labdcs.experiments.web_base import page

#: A comment line this often keeps proxies from closing a quiet stream and finds dead clients.
KEEPALIVE_S = 15.0


def _hub(request: Request) -> MonitorHub:
    hub: MonitorHub | None = request.app.state.services.monitor
    if hub is None:
        raise HTTPException(503, "the monitor is off: this service runs without a broker (queue disabled)")
    return hub


async def _events(
    hub: MonitorHub, subscription: Subscription, rows: list[str], teams: list[str] | None
) -> AsyncIterator[str]:
    try:
        yield "retry: 2000\n\n" + snapshot([visible(row, teams) for row in rows])
        while True:
            try:
                await asyncio.wait_for(subscription.ready.wait(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            subscription.ready.clear()
            changed = subscription.take()
            if changed:
                yield "".join(sse(None, visible(data, teams)) for data in changed)
    finally:
        hub.close(subscription)


def router() -> APIRouter:
    monitor = APIRouter(responses={503: ERRORS[503]})

    @monitor.get("/api/monitor", response_model=list[MonitorRow], tags=["monitor"])
    def rows(request: Request) -> list[MonitorRow]:
        """Every station channel now: run, values, step (as the protocol's text writes it), the end
        expected first, alarms, interlocks and environment of the station."""
        teams = readable_teams(request)
        return [
            MonitorRow.model_validate_json(visible(row.model_dump_json(), teams))
            for row in _hub(request).rows()
        ]

    @monitor.get(
        "/api/monitor/stream",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
        tags=["monitor"],
    )
    async def stream(request: Request) -> StreamingResponse:
        """The same rows pushed as they change (``text/event-stream``): a ``snapshot`` event with every
        row, then one event per changed row. A slow reader gets the newest row of each channel, never a
        backlog; 503 when every allowed stream is open."""
        hub = _hub(request)
        try:
            subscription, current = hub.open()
        except TooManyStreams as exc:
            raise HTTPException(503, str(exc)) from None
        return StreamingResponse(
            _events(hub, subscription, current, readable_teams(request)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @monitor.get("/monitor", response_class=HTMLResponse, include_in_schema=False)
    def monitor_page() -> HTMLResponse:
        return page("Monitor", BODY, SCRIPT, style=STYLE)

    return monitor


BODY = """<p class="muted" id="summary">Connecting to the live stream&hellip;</p>
<p id="streamproblem" class="error" hidden></p>
<div id="board" class="board panel"><p class="nodata" hidden></p></div>"""

STYLE = """
.board{display:grid;grid-template-columns:repeat(auto-fill,minmax(21em,1fr));gap:.8em}
.board>.nodata{grid-column:1/-1}
a.chan{display:block;color:inherit;text-decoration:none;background:#fff;border:1px solid #d6d6d6;border-left:6px solid #2a7d2e;border-radius:4px;padding:.55em .7em;min-width:0}
a.chan:hover{box-shadow:0 1px 5px rgba(0,0,0,.18)}
a.chan.idle{border-left-color:#9aa}a.chan.paused{border-left-color:#a65d00}
a.chan.fault,a.chan.alarm{border-left-color:#b3261e;background:#fff5f4}
a.chan.offline{border-left-color:#555;background:#eceff1;color:#555}
.chan .head{display:flex;justify-content:space-between;gap:.5em;align-items:baseline}
.chan .head b{font-size:1.05em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.flag{font-size:.8em;font-weight:600;padding:1px 6px;border-radius:3px;color:#fff;background:#2a7d2e;white-space:nowrap}
.flag.idle,.flag.finished{background:#777}.flag.paused{background:#a65d00}.flag.fault,.flag.error,.flag.aborted,.flag.offline{background:#b3261e}
.chan .exp{font-size:.85em;color:#444;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;margin:.15em 0 .3em}
.vals{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:.2em;margin:.3em 0}
.vals div{background:#f4f6f8;border-radius:3px;padding:.15em .35em;min-width:0}
.vals span{display:block;font-size:.72em;color:#666}.vals b{font-variant-numeric:tabular-nums;font-size:1.05em}
.chan .step{font-family:ui-monospace,monospace;font-size:.85em;background:#f7f7ee;padding:.2em .35em;border-radius:3px;overflow-wrap:anywhere}
.chan .facts{font-size:.82em;color:#333;margin-top:.25em;font-variant-numeric:tabular-nums}
.chan .facts span{white-space:nowrap;margin-right:.9em}
.chan .lab{font-size:.8em;margin-top:.3em;overflow-wrap:anywhere}
.chan .lab .bad{color:#b3261e;font-weight:600}.chan .lab .env{color:#444}
.chan .why{font-size:.82em;color:#b3261e;overflow-wrap:anywhere}
"""

SCRIPT = r"""
const rows = new Map();
let source = null, lastEvent = 0;
const num = (v, unit, d=4) => v == null ? '&ndash;' : `${fmtNum(v, d)}&nbsp;${unit}`;
function flagOf(r) {
  if (!r.online) return ['offline', 'OFFLINE'];
  if (r.fault) return ['fault', 'FAULT'];
  return [r.run_state || 'idle', r.run_state || 'no state yet'];
}
function card(r) {
  const [cls, word] = flagOf(r);
  const alarms = r.alarms.filter(a => a.active), rules = r.interlocks.filter(x => x.active);
  const classes = ['chan', cls]; if (alarms.length || rules.length) classes.push('alarm');
  const href = r.experiment ? `/experiments/${encodeURIComponent(r.experiment)}` : `/stations/${encodeURIComponent(r.station)}`;
  const running = ['running', 'paused'].includes(r.run_state);
  const who = r.experiment ? [r.name || r.experiment, `cell ${r.cell || '?'}`, r.operator, r.protocol].filter(Boolean).join(' \u00b7 ') : 'no experiment';
  const end = r.end ? `next end: <b>${esc(r.end)}</b>` + (r.end_eta_s != null ? ` in about ${esc(fmtAbout(r.end_eta_s))}` : ' (no estimate yet)') : '';
  const env = r.environment.map(s => `<span class="env">${esc(s.sensor)}: ${Object.entries(s.values).map(([k, v]) => `${esc(k.replace('_', ' '))} ${fmtNum(v, 3)}`).join(', ')}</span>`).join(' · ');
  const bad = [...alarms.map(a => `alarm ${esc(a.device)}/${esc(a.alarm)} (${esc(a.severity)}): ${esc(a.message)}`),
               ...r.alarms.filter(a => !a.active).map(a => `cleared, not acknowledged: ${esc(a.device)}/${esc(a.alarm)}`),
               ...rules.map(x => `interlock ${esc(x.rule)} ${esc(x.status)}` + (x.reason ? `: ${esc(x.reason)}` : ''))];
  const okRules = r.interlocks.filter(x => !x.active).map(x => esc(x.rule));
  return `<a class="${classes.join(' ')}" href="${href}" data-key="${esc(r.key)}" data-state="${esc(cls)}" title="${esc(r.key)}: ${esc(r.experiment ? 'open the experiment' : 'open the station')}">
   <div class="head"><b title="${esc(r.station)} / ${esc(r.channel)}">${esc(r.station)} / ${esc(r.channel)}</b><span class="flag ${esc(cls)}">${esc(word)}</span></div>
   <div class="exp" title="${esc(who)}">${esc(who)}</div>
   ${r.fault ? `<div class="why">fault: ${esc(r.fault)}</div>` : ''}
   ${!r.online ? `<div class="why">station offline: no values since it left the broker${r.received ? ` (last at ${esc(fmtTime(r.received))} UTC)` : ''}</div>` : ''}
   <div class="vals"><div><span>voltage</span><b class="v">${num(r.voltage, 'V')}</b></div><div><span>current</span><b class="i">${num(r.current, 'A')}</b></div>
    <div><span>temperature</span><b class="t">${num(r.temperature, '&deg;C', 3)}</b></div><div><span>power</span><b class="p">${num(r.power, 'W', 3)}</b></div></div>
   ${running ? `<div class="step" title="step ${r.step_index}">${esc(r.step || '')}</div>` : (r.end_reason ? `<div class="facts">ended: ${esc(r.end_reason)}</div>` : '')}
   <div class="facts">${running ? `<span>cycle <b class="cycle">${r.cycle}</b></span><span>in step <b class="steptime">${fmtDuration(r.step_time)}</b></span><span>run <b>${fmtDuration(r.test_time)}</b></span><br>` : ''}
    <span>charged <b class="qc">${fmtNum(r.charge_ah)}</b> Ah</span><span>discharged <b class="qd">${fmtNum(r.discharge_ah)}</b> Ah</span></div>
   ${running && end && r.online ? `<div class="facts end">${end}</div>` : ''}
   <div class="lab">${bad.map(x => `<div class="bad">${x}</div>`).join('')}${okRules.length ? `<div class="env">interlocks ok: ${okRules.join(', ')}</div>` : ''}${env ? `<div>${env}</div>` : ''}</div>
  </a>`;
}
function render() {
  const board = $('#board'), list = [...rows.values()].sort((a, b) => a.key.localeCompare(b.key));
  board.querySelectorAll('a.chan').forEach(el => { if (!rows.has(el.dataset.key)) el.remove(); });
  say(board.firstElementChild, list.length ? '' : 'No stations yet: a station appears here when its device service announces itself on the broker.');
  list.forEach(r => {
    const old = board.querySelector(`a.chan[data-key="${CSS.escape(r.key)}"]`);
    const html = card(r);
    if (old && old.dataset.html === html) return;
    const t = document.createElement('template'); t.innerHTML = html.trim(); const el = t.content.firstChild; el.dataset.html = html;
    if (old) old.replaceWith(el); else board.appendChild(el);
  });
  [...board.querySelectorAll('a.chan')].sort((a, b) => a.dataset.key.localeCompare(b.dataset.key)).forEach(el => board.appendChild(el));
  const n = list.length, running = list.filter(r => r.online && r.run_state === 'running').length, off = list.filter(r => !r.online).length,
        bad = list.filter(r => r.online && (r.fault || r.alarms.some(a => a.active) || r.interlocks.some(x => x.active))).length;
  $('#summary').textContent = `${n} station channel${n === 1 ? '' : 's'}: ${running} running, ${off} offline, ${bad} with a fault, alarm or interlock · live`;
}
function connect() {
  source = new EventSource('/api/monitor/stream');
  source.addEventListener('snapshot', e => { rows.clear(); JSON.parse(e.data).forEach(r => rows.set(r.key, r)); lastEvent = Date.now(); $('#streamproblem').hidden = true; render(); });
  source.addEventListener('message', e => { const r = JSON.parse(e.data); rows.set(r.key, r); lastEvent = Date.now(); render();
    window.dispatchEvent(new CustomEvent('monitor-row', {detail: r})); });
  source.addEventListener('error', async () => {
    if (source.readyState === EventSource.CLOSED) { source = null; setTimeout(connect, 3000); }
    let why = 'the experiments service did not answer';
    try { const r = await fetch('/api/monitor'); if (!r.ok) { const b = await r.json().catch(() => ({})); why = b.detail || `HTTP ${r.status}`; } else why = 'the stream was interrupted, or too many monitor pages are open'; } catch {}
    const p = $('#streamproblem'); p.textContent = `Live updates stopped (${why}); reconnecting. The values below may be old.`; p.hidden = false;
    $('#summary').textContent = 'Not live: reconnecting\u2026';
  });
}
connect();
"""
