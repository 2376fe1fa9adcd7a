# ruff: noqa: E501  (embedded CSS and JavaScript keep their natural line length)
"""What every page of the web UI shares: the frame (navigation, style sheet, favicon) and the
JavaScript helpers: API calls whose errors say in words what went wrong, numbers and times as people
read them, the sentence shown where a plot or table would be. The plots themselves (uPlot) are in
``static/plots.js``."""

from __future__ import annotations

import html
from importlib import resources

from fastapi.responses import HTMLResponse, Response

from labdcs.experiments.headers import nonce, page_policy

CSS = """
*{box-sizing:border-box}[hidden]{display:none!important}
body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
nav{background:#1f3b57;padding:.6em 1em}nav a{color:#fff;margin-right:1.2em;text-decoration:none;font-weight:500}
main{padding:1em 1.5em;max-width:1300px}h1{font-size:1.4em;margin:.3em 0 .8em;overflow-wrap:anywhere}h2{font-size:1.1em;margin-top:1.5em}
table{border-collapse:collapse;background:#fff;font-size:.9em;width:100%}
td,th{border-bottom:1px solid #e3e3e3;padding:5px 8px;text-align:left;white-space:nowrap}
td.when{white-space:normal}td.when span{white-space:nowrap}
td.fill{max-width:0;overflow:hidden;text-overflow:ellipsis}
#experiments th[data-sort=name]{width:24%}#experiments th[data-sort=cell],#experiments th[data-sort=protocol]{width:12%}
.clip{display:inline-block;max-width:16em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;vertical-align:bottom}
th[data-sort]{cursor:pointer;user-select:none}th[data-sort]:hover{background:#eef}
th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
.filters{display:flex;flex-wrap:wrap;gap:.6em;margin-bottom:.8em}.filters label{font-size:.85em}.filters select{max-width:14em}
input,select,textarea,button{font:inherit;padding:4px 6px;max-width:100%}textarea{width:100%;font-family:monospace}
button{cursor:pointer;border:1px solid #1f3b57;background:#1f3b57;color:#fff;border-radius:3px}
button.secondary{background:#fff;color:#1f3b57}button:disabled{opacity:.5;cursor:default}
.status{padding:2px 6px;border-radius:3px;font-size:.85em;color:#fff;background:#777}
.status.running{background:#2a7d2e}.status.queued{background:#8a6d00}.status.paused{background:#a65d00}
.status.finished{background:#1f5fa8}.status.aborted,.status.error{background:#b3261e}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(26em,1fr));gap:1em}
.card{background:#fff;border:1px solid #e3e3e3;border-radius:4px;padding:.8em;min-width:0;overflow-wrap:anywhere}
.card h2{margin-top:0}
table.kv th{width:10em;vertical-align:top}table.kv td{white-space:normal;overflow-wrap:anywhere}
.clamp{display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:3;overflow:hidden}
.form{display:grid;grid-template-columns:14em minmax(0,1fr);gap:.5em 1em;max-width:800px;align-items:center}
.error{color:#b3261e;white-space:pre-wrap;overflow-wrap:anywhere}.ok{color:#2a7d2e}.muted{color:#777;font-size:.85em}
pre{white-space:pre-wrap;overflow-wrap:anywhere}
.plot{position:relative;margin:0 0 .6em}
.nodata{color:#555;font-style:italic;margin:.4em 0}.nodata.failed{color:#b3261e;font-style:normal}
.plot .nodata{position:absolute;inset:0;margin:0;padding:1em 3em;display:flex;align-items:center;justify-content:center;text-align:center}
td.nodata{white-space:normal;text-align:center;padding:1em}
#problem{margin:0 0 1em}
progress{width:400px;max-width:100%}
.spaced{margin-top:.5em}.contents{display:contents}
"""

JS = r"""
const $ = (s, root=document) => root.querySelector(s);
const esc = s => String(s ?? '').replace(/[&<>"']/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
/* The API's answer; its errors say in words what went wrong (the service's detail, or no answer). */
async function api(path, options={}) {
  let r;
  try { r = await fetch(path, options); }
  catch (e) { throw new Error(`the experiments service did not answer (${e.message})`); }
  const text = await r.text();
  let body; try { body = JSON.parse(text); } catch { body = text; }
  if (!r.ok) {
    const msg = (body && body.detail) || text || `HTTP ${r.status} ${r.statusText}`;
    const problems = (body && body.problems && body.problems.length > 1) ? '\n' + body.problems.join('\n') : '';
    throw new Error(msg + problems);
  }
  return body;
}
const post = (path, data) => api(path, {method:'POST', headers:{'Content-Type':'application/json'}, body:JSON.stringify(data)});
const failed = (err, what='the data') => `Could not load ${what}: ${err.message}`;
/* A point in time, UTC (as in the report), to the second. */
const fmtTime = ms => ms == null ? '' : new Date(ms).toISOString().replace('T',' ').slice(0,19);
/* The same as table cell content that may break between the date and the time, nowhere else. */
const fmtWhen = ms => ms == null ? '' : fmtTime(ms).split(' ').map(part => `<span>${part}</span>`).join(' ');
/* About d significant digits in plain decimals: 3.831, 0.4172, 12345, never 2.09e-7. */
function fmtNum(v, d=4) {
  if (v == null || v === '' || !isFinite(v)) return '';
  const x = Number(v), a = Math.abs(x);
  if (a === 0) return '0';
  if (a >= 1e15) return x.toExponential(d - 1);
  const text = x.toFixed(Math.min(6, Math.max(0, d - 1 - Math.floor(Math.log10(a)))));
  return Number(text) === 0 ? '0' : text;
}
/* A duration as a clock shows it: 0:02:05, 27:46:40 reads 1 d 03:46:40. */
function fmtDuration(s) {
  if (s == null || !isFinite(s)) return '';
  s = Math.max(0, Math.round(s));
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
  const two = n => String(n).padStart(2, '0');
  return d ? `${d} d ${two(h)}:${two(m)}:${two(sec)}` : `${h}:${two(m)}:${two(sec)}`;
}
/* A rough duration in the unit that suits it: 40 s, 2 min, 3.5 h, 4.2 days. */
function fmtAbout(s) {
  if (s == null || !isFinite(s)) return '';
  const one = v => v.toFixed(1).replace(/\.0$/, '');
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${one(s / 3600)} h`;
  return `${one(s / 86400)} days`;
}
const badge = s => `<span class="status ${esc(s)}">${esc(s)}</span>`;
/* A cell that shows what fits and the whole text on hover. */
const clip = (text, cls='clip') => `<span class="${cls}" title="${esc(text)}">${esc(text)}</span>`;
function options(select, items, value=x=>x.id, label=x=>x.id, blank=null) {
  select.innerHTML = (blank !== null ? `<option value="">${esc(blank)}</option>` : '') +
    items.map(x => `<option value="${esc(value(x))}" title="${esc(label(x))}">${esc(label(x))}</option>`).join('');
}
/* The sentence in place of a plot or table (its panel's .nodata); '' takes it away. */
function say(el, text, isError=false) {
  const note = el.closest('.panel').querySelector('.nodata');
  note.textContent = text; note.hidden = !text; note.classList.toggle('failed', !!text && isError);
}
/* A table body that says why it has no rows. */
function sayRow(tbody, text, isError=false) {
  const columns = tbody.closest('table').querySelectorAll('thead th').length || 1;
  tbody.innerHTML = `<tr><td colspan="${columns}" class="nodata${isError ? ' failed' : ''}">${esc(text)}</td></tr>`;
}
/* Whatever a page could not load and did not say itself, said at the top of the page. */
function problem(err) {
  const p = $('#problem'); p.textContent = failed(err); p.hidden = false;
}
window.addEventListener('unhandledrejection', e => problem(e.reason instanceof Error ? e.reason : new Error(String(e.reason))));
"""

NAV = (
    "<nav><a href='/monitor'>Monitor</a><a href='/'>Experiments</a><a href='/experiments/new'>New experiment</a>"
    "<a href='/cells/new'>Register cell</a><a href='/import'>Import</a><a href='/harvest'>Harvest</a>"
    "<a href='/stations'>Stations</a><a href='/compare'>Compare</a><a href='/people'>People</a>"
    "<a href='/docs'>API</a></nav>"
)


def page(title: str, body: str, script: str = "", style: str = "", head: str = "") -> HTMLResponse:
    """A page of the UI: navigation, the title, a place for problems the page did not say itself.
    Its inline style and scripts carry this response's nonce, the only inline code its CSP allows;
    ``head``: this site's files the page also loads (the plots' scripts, :data:`static.HEAD`)."""
    n = nonce()
    return HTMLResponse(
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)} - labdcs</title>"
        "<meta name='viewport' content='width=device-width'><link rel='icon' type='image/svg+xml' href='/favicon.svg'>"
        f"<style nonce='{n}'>{CSS}{style}</style>{head}</head><body>{NAV}<main><h1>{html.escape(title)}</h1>"
        f"<p id='problem' class='error' hidden></p>{body}</main><script nonce='{n}'>{JS}</script><script nonce='{n}'>{script}</script></body></html>",
        headers={"Content-Security-Policy": page_policy(n)},
    )


def favicon() -> Response:
    """The icon from the package (browsers ask /favicon.ico unless a page names another)."""
    svg = resources.files("labdcs.experiments").joinpath("favicon.svg").read_bytes()
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})
