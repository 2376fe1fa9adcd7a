# ruff: noqa: E501  (embedded HTML and JavaScript keep their natural line length)
"""The web UI: a few server-rendered pages whose tables, forms and plots use the REST API with a
little vanilla JavaScript. No build step, no CDN (labs are often offline): the frame and the
helpers every page uses (formatting, messages where data would be, the canvas plot) are in
:mod:`labdcs.experiments.web_base`."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from labdcs.experiments import experiment_plots, static
from labdcs.experiments.documents import Status, Technology
from labdcs.experiments.web_base import favicon, page

TABLE_COLUMNS = [
    ("id", "id"), ("name", "name"), ("status", "status"), ("technology", "technology"), ("cell", "cell"),
    ("station", "station"), ("protocol", "protocol"), ("cycles", "cycles"), ("created", "created"),
    ("started", "started"), ("finished", "finished"),
]  # fmt: skip


def experiments_page() -> HTMLResponse:
    technologies = "".join(f"<option>{t.value}</option>" for t in Technology)
    statuses = "".join(f"<option>{s.value}</option>" for s in Status)
    head = "".join(f"<th data-sort='{key}'>{label}</th>" for key, label in TABLE_COLUMNS)
    body = f"""
<div class="filters">
 <label>search <input id="q" placeholder="name or description"></label>
 <label>technology <select id="f-technology"><option value="">all</option>{technologies}</select></label>
 <label>cell <select id="f-cell"></select></label>
 <label>station <select id="f-station"></select></label>
 <label>protocol <select id="f-protocol"></select></label>
 <label>status <select id="f-status"><option value="">all</option>{statuses}</select></label>
</div>
<table id="experiments"><thead><tr>{head}</tr></thead><tbody></tbody></table>
<p><button class="secondary" id="prev">previous</button> <span id="pageinfo"></span>
 <button class="secondary" id="next">next</button></p>"""
    script = r"""
const state = {sort: 'created', order: 'desc', offset: 0, limit: 25};
const filters = ['technology', 'cell', 'station', 'protocol', 'status'];
/* A cell that takes the table's spare width and ellipsizes the rest, whole on hover. */
const fill = text => `<td class="fill" title="${esc(text)}">${esc(text)}</td>`;
async function load() {
  const p = new URLSearchParams({sort: state.sort, order: state.order, offset: state.offset, limit: state.limit});
  const q = $('#q').value.trim(); if (q) p.set('q', q);
  filters.forEach(f => { const v = $('#f-' + f).value; if (v) p.set(f, v); });
  const body = $('#experiments tbody');
  let page;
  try { page = await api('/api/experiments?' + p); }
  catch (err) { sayRow(body, failed(err, 'the experiments'), true); $('#pageinfo').textContent = ''; return; }
  body.innerHTML = page.items.map(e => `<tr data-id="${esc(e.id)}">
    <td><a href="/experiments/${esc(e.id)}">${esc(e.id)}</a></td>${fill(e.name)}<td>${badge(e.status)}</td>
    <td>${esc(e.technology)}</td>${fill(e.cell)}<td>${esc(e.station)}</td>${fill(e.protocol)}
    <td>${e.cycles}</td><td class="when">${fmtWhen(e.created)}</td><td class="when">${fmtWhen(e.started)}</td><td class="when">${fmtWhen(e.finished)}</td></tr>`).join('');
  if (!page.items.length) sayRow(body, q || filters.some(f => $('#f-' + f).value)
    ? 'No experiment matches these filters.' : 'No experiments yet: queue one (New experiment) or import a finished one.');
  $('#pageinfo').textContent = page.total ? `${page.offset + 1}-${page.offset + page.items.length} of ${page.total}` : 'none';
  $('#prev').disabled = state.offset === 0; $('#next').disabled = state.offset + page.items.length >= page.total;
  document.querySelectorAll('th[data-sort]').forEach(th => {
    th.className = th.dataset.sort === state.sort ? state.order : ''; });
}
document.querySelectorAll('th[data-sort]').forEach(th => th.addEventListener('click', () => {
  state.order = state.sort === th.dataset.sort && state.order === 'asc' ? 'desc' : 'asc';
  state.sort = th.dataset.sort; state.offset = 0; load(); }));
$('#prev').onclick = () => { state.offset = Math.max(0, state.offset - state.limit); load(); };
$('#next').onclick = () => { state.offset += state.limit; load(); };
let typing; $('#q').addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(() => { state.offset = 0; load(); }, 250); });
filters.forEach(f => $('#f-' + f).addEventListener('change', () => { state.offset = 0; load(); }));
load(); setInterval(load, 5000);
(async () => {
  const [cells, stations, protocols] = await Promise.all([api('/api/cells?limit=500'), api('/api/stations?limit=500'), api('/api/protocols?limit=500')]);
  options($('#f-cell'), cells.items, x => x.id, x => x.serial, 'all');
  options($('#f-station'), stations.items, x => x.id, x => x.id, 'all');
  options($('#f-protocol'), protocols.items, x => x.id, x => x.id, 'all');
})();
"""
    return page("Experiments", body, script)


def cell_page() -> HTMLResponse:
    technologies = "".join(f"<option>{t.value}</option>" for t in Technology)
    body = f"""
<div class="form">
 <label>cell type</label><select id="type"></select>
</div>
<div id="newtype" class="form spaced">
 <label>manufacturer</label><input id="manufacturer"> <label>model</label><input id="model">
 <label>technology</label><select id="technology">{technologies}</select>
 <label>chemistry</label><input id="chemistry" placeholder="NMC/graphite, LFP, ...">
 <label>form factor</label><input id="form_factor" placeholder="cylindrical 18650, pouch, ...">
 <label>nominal capacity / Ah</label><input id="nominal_capacity_ah" type="number" step="any">
 <label>nominal voltage / V</label><input id="nominal_voltage_v" type="number" step="any">
 <label>V min / V max</label><span><input id="t_v_min" type="number" step="any"> <input id="t_v_max" type="number" step="any"></span>
 <label>I charge / discharge max / A</label><span><input id="t_i_charge_max" type="number" step="any"> <input id="t_i_discharge_max" type="number" step="any"></span>
 <label>T min / T max / degC</label><span><input id="t_t_min_c" type="number" step="any"> <input id="t_t_max_c" type="number" step="any"></span>
 <span id="techfields" class="contents"></span>
</div>
<h2>Specimen</h2>
<div class="form">
 <label>serial</label><input id="serial">
 <label>series x parallel</label><span><input id="series" type="number" value="1" min="1"> x <input id="parallel" type="number" value="1" min="1"></span>
 <label>parent module (optional)</label><input id="parent">
 <label>narrower V max / I charge max (optional)</label><span><input id="c_v_max" type="number" step="any"> <input id="c_i_charge_max" type="number" step="any"></span>
 <label>notes</label><textarea id="notes" rows="2"></textarea>
 <span></span><button id="save">Register cell</button>
</div>
<p id="message"></p>"""
    script = r"""
let technologyFields = {};
const num = id => { const v = $('#' + id).value; return v === '' ? null : Number(v); };
function showTech() {
  const fields = technologyFields[$('#technology').value] || [];
  $('#techfields').innerHTML = fields.map(f => `<label>${esc(f.label)}</label><input data-extra="${esc(f.name)}">`).join('');
}
(async () => {
  technologyFields = (await api('/api/formats')).technologies;
  const types = await api('/api/cell-types?limit=500');
  options($('#type'), types.items, x => x.id, x => `${x.manufacturer} ${x.model} (${x.technology})`, 'new type...');
  const toggle = () => $('#newtype').style.display = $('#type').value ? 'none' : 'grid';
  $('#type').onchange = toggle; toggle();
  $('#technology').onchange = showTech; showTech();
})();
$('#save').onclick = async () => {
  $('#message').className = ''; $('#message').textContent = '';
  try {
    let type = $('#type').value;
    if (!type) {
      const extra = {}; document.querySelectorAll('[data-extra]').forEach(i => { if (i.value) extra[i.dataset.extra] = i.value; });
      const made = await post('/api/cell-types', {manufacturer: $('#manufacturer').value, model: $('#model').value,
        technology: $('#technology').value, chemistry: $('#chemistry').value, form_factor: $('#form_factor').value,
        nominal_capacity_ah: num('nominal_capacity_ah'), nominal_voltage_v: num('nominal_voltage_v'), extra,
        limits: {v_min: num('t_v_min'), v_max: num('t_v_max'), i_charge_max: num('t_i_charge_max'),
                 i_discharge_max: num('t_i_discharge_max'), t_min_c: num('t_t_min_c'), t_max_c: num('t_t_max_c')}});
      type = made.id;
    }
    const cell = await post('/api/cells', {serial: $('#serial').value, type, series: num('series') || 1,
      parallel: num('parallel') || 1, parent: $('#parent').value || null, notes: $('#notes').value,
      limits: {v_max: num('c_v_max'), i_charge_max: num('c_i_charge_max')}});
    $('#message').className = 'ok'; $('#message').textContent = `registered cell ${cell.id}`;
  } catch (e) { $('#message').className = 'error'; $('#message').textContent = e.message; }
};
"""
    return page("Register a cell", body, script)


def new_experiment_page() -> HTMLResponse:
    body = """
<div class="form">
 <label>name</label><input id="name">
 <label>description</label><textarea id="description" rows="2"></textarea>
 <label>cell</label><select id="cell"></select>
 <label>station / channel</label><span><select id="station"></select> <select id="channel"></select></span>
 <label>protocol</label><select id="protocol"></select>
 <label></label><span class="muted" id="incompatible"></span>
 <label>operator</label><input id="operator">
 <span></span><button id="create">Queue experiment</button>
</div>
<p id="message"></p>
<h2>Write or upload a protocol</h2>
<p class="muted">Text form (e.g. <code>Charge at 1C until 4.2 V</code>), YAML or JSON; validated for the chosen cell and station.</p>
<input type="file" id="protofile"> <textarea id="prototext" rows="8"></textarea>
<p><button class="secondary" id="check">Validate</button> <button class="secondary" id="saveproto">Save protocol</button></p>
<pre id="checkout"></pre>"""
    script = r"""
let stations = [];
async function refreshProtocols() {
  const cell = $('#cell').value, station = $('#station').value, channel = $('#channel').value;
  if (!cell || !station || !channel) return;
  const all = await api(`/api/compatible-protocols?cell=${encodeURIComponent(cell)}&station=${encodeURIComponent(station)}&channel=${encodeURIComponent(channel)}`);
  const ok = all.filter(x => x.ok), bad = all.filter(x => !x.ok);
  options($('#protocol'), ok.map(x => x.protocol), x => x.id, x => `${x.id}: ${x.name}`);
  $('#incompatible').textContent = bad.length ? `not offered (incompatible): ` + bad.map(x => `${x.protocol.id} (${x.problems[0]})`).join('; ') : '';
}
function showChannels() {
  const s = stations.find(x => x.id === $('#station').value);
  options($('#channel'), s ? s.channels : [], x => x.id, x => x.id + (x.label ? ' ' + x.label : ''));
}
(async () => {
  const [cells, st] = await Promise.all([api('/api/cells?limit=500'), api('/api/stations?limit=500')]);
  stations = st.items;
  options($('#cell'), cells.items, x => x.id, x => `${x.serial} (${x.type})`);
  options($('#station'), stations, x => x.id, x => x.id + (x.online ? '' : ' (offline)'));
  showChannels(); refreshProtocols();
  $('#cell').onchange = refreshProtocols; $('#station').onchange = () => { showChannels(); refreshProtocols(); };
  $('#channel').onchange = refreshProtocols;
})();
$('#protofile').onchange = async e => { const f = e.target.files[0]; if (f) $('#prototext').value = await f.text(); };
$('#check').onclick = async () => {
  try {
    const r = await post('/api/protocols/check', {text: $('#prototext').value, cell: $('#cell').value || null,
      station: $('#station').value || null, channel: $('#channel').value || 'ch1'});
    $('#checkout').className = r.ok ? 'ok' : 'error';
    const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
    $('#checkout').textContent = (r.ok ? `valid; about ${fmtAbout(r.estimate_s)}, ${plural(r.cycles, 'cycle')}\n` : 'refused\n')
      + r.problems.map(p => `${p.severity}: ${p.where}: ${p.message}`).join('\n');
  } catch (e) { $('#checkout').className = 'error'; $('#checkout').textContent = e.message; }
};
$('#saveproto').onclick = async () => {
  try {
    const r = await post('/api/protocols', {text: $('#prototext').value});
    await refreshProtocols(); $('#protocol').value = r.protocol.id;
    $('#checkout').className = 'ok'; $('#checkout').textContent = `saved as ${r.protocol.id}`;
  } catch (e) { $('#checkout').className = 'error'; $('#checkout').textContent = e.message; }
};
$('#create').onclick = async () => {
  try {
    const e = await post('/api/experiments', {name: $('#name').value, description: $('#description').value,
      cell: $('#cell').value, station: $('#station').value, channel: $('#channel').value,
      protocol: $('#protocol').value, operator: $('#operator').value});
    location.href = '/experiments/' + e.id;
  } catch (e) { $('#message').className = 'error'; $('#message').textContent = e.message; }
};
"""
    return page("New experiment", body, script)


def experiment_page(experiment_id: str, grafana_url: str | None) -> HTMLResponse:
    grafana = " · <a id='grafana' target='_blank'>Grafana station dashboard</a>" if grafana_url else ""
    body = f"""
<div class="cards">
 <section class="card panel"><h2>Experiment</h2><table id="meta" class="kv"></table><p class="nodata" hidden></p>
  <p id="forged" class="error" hidden></p></section>
 <section class="card panel"><h2>Live</h2><table id="live" class="kv"></table><p class="nodata" hidden></p>
  <p><button id="pause" class="secondary">Pause</button> <button id="resume" class="secondary">Resume</button>
  <button id="stop" class="secondary">Stop</button></p><p id="message"></p>
  <p><a id="csv" download>CSV (BDF columns)</a> · <a id="report" download>HTML report</a>{grafana}</p></section>
</div>
{experiment_plots.BODY}
<table id="cycles"><thead><tr><th>cycle</th><th>charge / Ah</th><th>discharge / Ah</th><th>charge / Wh</th>
<th>discharge / Wh</th><th>CE / %</th><th>EE / %</th><th>V min / V</th><th>V max / V</th><th>T max / degC</th></tr></thead><tbody></tbody></table>
<section id="labcontext"></section><script src="/ui/labcontext.js" defer></script>"""
    script = f"const ID = {json.dumps(experiment_id)}; const GRAFANA = {json.dumps(grafana_url)};\n"
    script += experiment_plots.SCRIPT
    script += r"""
const URL_ = '/api/experiments/' + encodeURIComponent(ID);
$('#csv').href = URL_ + '/export.csv'; $('#report').href = URL_ + '/report.html';
let lastStatus = null, retry = false, explorer = null;
const cyclePlots = cyclePanels(ID);
const row = (k, v) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`;
const active = status => ['running', 'paused'].includes(status);
function blank(host, text) { host.dataset.points = '0'; say(host, text); }
const noData = status => status === 'queued' ? 'No data yet: the experiment waits in the queue.'
  : active(status) ? 'No data yet.' : 'No data were recorded for this experiment.';
const noCycle = status => status === 'queued' || active(status) ? 'No cycle completed yet.' : 'No cycle was completed in this experiment.';
async function refresh() {
  let e;
  try { e = await api(URL_); }
  catch (err) { ['#meta', '#live'].forEach(t => { $(t).innerHTML = ''; say($(t), failed(err, 'the experiment'), true); }); return; }
  ['#meta', '#live'].forEach(t => say($(t), ''));
  if (GRAFANA) $('#grafana').href = `${GRAFANA}/d/labdcs-station/battery-station?var-station=${encodeURIComponent(e.station)}&var-experiment=${encodeURIComponent(e.id)}` +
    (e.started ? `&from=${e.started}&to=${e.finished || 'now'}` : '');
  $('#meta').innerHTML = row('id', esc(e.id)) + row('name', esc(e.name)) +
    row('description', `<span class="clamp" title="${esc(e.description)}">${esc(e.description)}</span>`) +
    row('cell', `${esc(e.cell)} (${esc(e.technology)})`) +
    row('station', `<a href="/stations/${esc(e.station)}">${esc(e.station)}</a> / ${esc(e.channel)}`) +
    row('protocol', esc(e.protocol)) + row('created', fmtTime(e.created)) + row('source', esc(e.source));
  forgeries();
  const p = e.progress;
  $('#live').innerHTML = row('status', badge(e.status)) + row('started', fmtTime(e.started)) +
    row('finished', fmtTime(e.finished)) + row('end reason', esc(e.end_reason)) + row('cycle', p.cycle_index) +
    row('step', `${p.step_index} ${esc(p.step_type)}`) + row('test time', fmtDuration(p.test_time)) +
    row('voltage / V', fmtNum(p.voltage)) + row('current / A', fmtNum(p.current)) + row('temperature / degC', fmtNum(p.temperature, 3)) +
    row('charged / discharged / Ah', `${fmtNum(p.charge_capacity)} / ${fmtNum(p.discharge_capacity)}`);
  $('#pause').disabled = e.status !== 'running'; $('#resume').disabled = e.status !== 'paused';
  $('#stop').disabled = !['running', 'paused', 'queued'].includes(e.status);
  const changed = e.status !== lastStatus; lastStatus = e.status;
  if (e.status === 'queued') {
    if (changed) { document.querySelectorAll('.plothost').forEach(c => blank(c, noData(e.status))); sayRow($('#cycles tbody'), noCycle(e.status)); }
    return;
  }
  if (active(e.status) || changed || retry) { retry = false; await Promise.all([plots(e), cycles(e)]); }
}
// Data another device sent naming this experiment were refused (the audit keeps one entry a minute).
async function forgeries() {
  let audit;
  try { audit = await api('/api/audit?target=' + encodeURIComponent(ID)); } catch (err) { return; }
  const forged = audit.filter(a => a.action.startsWith('forged '));
  $('#forged').hidden = !forged.length;
  if (forged.length) $('#forged').textContent = `Refused: ${forged[0].detail} (${forged.length} audit ` +
    `entr${forged.length === 1 ? 'y' : 'ies'}, the latest ${fmtTime(forged[0].ts)}). Check who holds that device's password.`;
}
async function plots(e) {
  if (!explorer) { explorer = plotsFor(ID, e.started, () => noData(e.status)); if (!await explorer.whole()) retry = true; }
  else if (!explorer.view) { if (!await explorer.load()) retry = true; }
  else await explorer.follow();
}
async function cycles(e) {
  let c;
  try { c = await api(URL_ + '/cycles'); }
  catch (err) { retry = true; cyclePlots.fail(err); sayRow($('#cycles tbody'), failed(err), true); return; }
  const pct = v => v == null ? null : v * 100, empty = noCycle(e.status);
  cyclePlots.set(c, empty);
  $('#cycles tbody').innerHTML = c.map(x => `<tr><td>${x.cycle_index}</td><td>${fmtNum(x.charge_capacity)}</td>
    <td>${fmtNum(x.discharge_capacity)}</td><td>${fmtNum(x.charge_energy)}</td><td>${fmtNum(x.discharge_energy)}</td>
    <td>${fmtNum(pct(x.coulombic_efficiency), 5)}</td><td>${fmtNum(pct(x.energy_efficiency), 5)}</td>
    <td>${fmtNum(x.v_min)}</td><td>${fmtNum(x.v_max)}</td><td>${fmtNum(x.t_max, 3)}</td></tr>`).join('');
  if (!c.length) sayRow($('#cycles tbody'), empty);
}
['pause', 'resume', 'stop'].forEach(a => $('#' + a).onclick = async () => {
  try { const r = await api(`${URL_}/${a}`, {method: 'POST'});
        $('#message').className = 'ok'; $('#message').textContent = `${a}: ${r.result}`; refresh(); }
  catch (e) { $('#message').className = 'error'; $('#message').textContent = e.message; }
});
refresh(); setInterval(refresh, 2000);
"""
    return page(f"Experiment {experiment_id}", body, script, head=static.HEAD)


def stations_page() -> HTMLResponse:
    body = "<table id='stations'><thead><tr><th>station</th><th>model</th><th>online</th><th>channels</th></tr></thead><tbody></tbody></table>"
    script = r"""
(async () => {
  const body = $('#stations tbody');
  let s;
  try { s = await api('/api/stations?limit=500'); } catch (err) { sayRow(body, failed(err, 'the stations'), true); return; }
  body.innerHTML = s.items.map(x => `<tr><td><a href="/stations/${esc(x.id)}">${esc(x.id)}</a></td>
   <td>${clip(x.model)}</td><td>${x.online ? 'yes' : 'no'}</td><td>${x.channels.map(c => esc(c.id)).join(', ')}</td></tr>`).join('');
  if (!s.items.length) sayRow(body, 'No stations yet: a station appears when its device service announces itself on the broker.');
})();
"""
    return page("Stations", body, script)


def station_page(station_id: str) -> HTMLResponse:
    body = """<div class="card panel"><div id="info"></div><p class="nodata" hidden></p></div><h2>Running now</h2>
<table id="active"><thead><tr><th>experiment</th><th>name</th><th>channel</th><th>status</th><th>cycle</th><th>started</th></tr></thead><tbody></tbody></table>
<h2>Queued (in start order)</h2>
<table id="queued"><thead><tr><th>experiment</th><th>name</th><th>channel</th><th>protocol</th><th>created</th></tr></thead><tbody></tbody></table>"""
    script = (
        f"const ID = {json.dumps(station_id)};\n"
        + r"""
async function refresh() {
  let v;
  try { v = await api('/api/stations/' + encodeURIComponent(ID)); }
  catch (err) {
    $('#info').innerHTML = ''; say($('#info'), failed(err, 'the station'), true);
    ['#active tbody', '#queued tbody'].forEach(t => sayRow($(t), failed(err), true)); return;
  }
  const s = v.station; say($('#info'), '');
  $('#info').innerHTML = `<b>${esc(s.id)}</b> ${esc(s.model)} ${esc(s.description)} · ${s.online ? 'online' : 'offline'}<br>` +
    s.channels.map(c => `${esc(c.id)}: ${fmtNum(c.limits.v_min, 3)}..${fmtNum(c.limits.v_max, 3)} V, ` +
      `+${fmtNum(c.limits.i_charge_max, 3)}/-${fmtNum(c.limits.i_discharge_max, 3)} A`).join('<br>');
  const link = e => `<a href="/experiments/${esc(e.id)}">${esc(e.id)}</a>`;
  $('#active tbody').innerHTML = v.active.map(e => `<tr><td>${link(e)}</td><td>${clip(e.name)}</td><td>${esc(e.channel)}</td>
    <td>${badge(e.status)}</td><td>${e.progress.cycle_index}</td><td class="when">${fmtWhen(e.started)}</td></tr>`).join('');
  if (!v.active.length) sayRow($('#active tbody'), 'Nothing runs on this station now.');
  $('#queued tbody').innerHTML = v.queued.map(e => `<tr><td>${link(e)}</td><td>${clip(e.name)}</td><td>${esc(e.channel)}</td>
    <td>${clip(e.protocol)}</td><td class="when">${fmtWhen(e.created)}</td></tr>`).join('');
  if (!v.queued.length) sayRow($('#queued tbody'), 'Nothing is queued for this station.');
}
refresh(); setInterval(refresh, 3000);
"""
    )
    return page(f"Station {station_id}", body, script)


def import_page() -> HTMLResponse:
    body = """
<div class="form">
 <label>file</label><input type="file" id="file">
 <label>format</label><select id="format"><option value="">detect</option></select>
 <label>column mapping (generic CSV)</label><input id="mapping" placeholder='{"t": "time/s", "U": "voltage/V", "I": "current/A"}'>
 <label>cell (optional)</label><select id="cell"></select>
 <label>experiment name</label><input id="name">
 <span></span><button id="go">Import</button>
</div>
<p><progress id="progress" max="1" value="0"></progress> <span id="phase"></span></p>
<div id="result"></div>"""
    script = r"""
(async () => {
  const f = await api('/api/formats');
  Object.entries(f.formats).forEach(([k, d]) => $('#format').insertAdjacentHTML('beforeend', `<option value="${esc(k)}">${esc(k)}: ${esc(d)}</option>`));
  options($('#cell'), (await api('/api/cells?limit=500')).items, x => x.id, x => x.serial, 'none');
})();
$('#go').onclick = () => {
  const file = $('#file').files[0]; if (!file) return;
  const form = new FormData(); form.append('file', file);
  ['format', 'mapping', 'cell', 'name'].forEach(k => { if ($('#' + k).value) form.append(k, $('#' + k).value); });
  const xhr = new XMLHttpRequest(); xhr.open('POST', '/api/imports');
  xhr.upload.onprogress = e => { if (e.lengthComputable) { $('#progress').value = e.loaded / e.total; $('#phase').textContent = 'uploading'; } };
  const refused = text => { $('#result').className = 'error'; $('#result').textContent = text; };
  xhr.onerror = () => refused('The upload failed: the experiments service did not answer.');
  xhr.onload = () => {
    let job; try { job = JSON.parse(xhr.responseText); } catch { job = {detail: `HTTP ${xhr.status}: ${xhr.responseText.slice(0, 200)}`}; }
    if (xhr.status >= 400) { refused(job.detail); return; }
    const poll = async () => {
      const j = await api('/api/imports/' + job.id);
      $('#progress').value = j.progress; $('#phase').textContent = `${j.state}: ${j.rows} rows (${j.format || ''})`;
      if (j.state === 'done') { $('#result').className = 'ok';
        $('#result').innerHTML = `imported as <a href="/experiments/${esc(j.experiment)}">${esc(j.experiment)}</a>`
          + (j.warnings && j.warnings.length ? '<br>' + j.warnings.map(esc).join('<br>') : ''); }
      else if (j.state === 'failed') { $('#result').className = 'error'; $('#result').textContent = j.problems.join('\n'); }
      else setTimeout(poll, 500);
    };
    poll();
  };
  xhr.send(form);
};
"""
    return page("Import an experiment", body, script)


def harvest_page() -> HTMLResponse:
    """What the harvester made of every file in its watched folders, updating as it scans."""
    body = """<p>Every file in the harvester's watched folders, with what became of it and why.</p>
<div class="form"><label>status</label><select id="status"><option value="">all</option>
 <option>imported</option><option>failed</option><option>skipped</option><option>waiting</option><option>live</option></select></div>
<table id="files"><thead><tr><th>file</th><th>status</th><th>why</th><th>experiment</th><th>format</th><th>rows</th><th>seen</th></tr></thead><tbody></tbody></table>"""
    script = r"""
async function refresh() {
  const body = $('#files tbody'); const status = $('#status').value;
  let r;
  try { r = await api('/api/harvested-files?limit=500' + (status ? '&status=' + encodeURIComponent(status) : '')); }
  catch (err) { sayRow(body, failed(err, 'the harvested files'), true); return; }
  body.innerHTML = r.items.map(f => `<tr><td>${clip(f.path)}</td><td>${badge(f.status)}</td><td>${clip(f.reason)}</td>
    <td>${f.experiment ? `<a href="/experiments/${esc(f.experiment)}">${esc(f.experiment)}</a>` : ''}</td>
    <td>${esc(f.format || '')}</td><td>${f.rows || ''}</td><td class="when">${fmtWhen(f.updated)}</td></tr>`).join('');
  if (!r.items.length) sayRow(body, status ? `No ${status} files.` : 'No files seen yet: start `labdcs harvest --watch DIR`.');
}
$('#status').onchange = refresh; refresh(); setInterval(refresh, 3000);
"""
    return page("Harvested files", body, script)


def router() -> APIRouter:
    web = APIRouter(include_in_schema=False)

    @web.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return experiments_page()

    @web.get("/cells/new", response_class=HTMLResponse)
    def cells_new() -> HTMLResponse:
        return cell_page()

    @web.get("/experiments/new", response_class=HTMLResponse)
    def experiments_new() -> HTMLResponse:
        return new_experiment_page()

    @web.get("/experiments/{experiment_id}", response_class=HTMLResponse)
    def experiment(request: Request, experiment_id: str) -> HTMLResponse:
        return experiment_page(experiment_id, request.app.state.services.grafana_url)

    @web.get("/stations", response_class=HTMLResponse)
    def stations() -> HTMLResponse:
        return stations_page()

    @web.get("/stations/{station_id}", response_class=HTMLResponse)
    def station(station_id: str) -> HTMLResponse:
        return station_page(station_id)

    @web.get("/import", response_class=HTMLResponse)
    def import_form() -> HTMLResponse:
        return import_page()

    @web.get("/harvest", response_class=HTMLResponse)
    def harvest() -> HTMLResponse:
        return harvest_page()

    @web.get("/favicon.svg")
    @web.get("/favicon.ico")
    def icon() -> Response:
        return favicon()

    return web
