# ruff: noqa: E501  (embedded HTML and JavaScript keep their natural line length)
"""The experiment page's plots: V, I and T over a time range people choose (last 1/5/15/60 min, the
whole run, a window typed or dragged; wheel zooms, shift-drag pans) with the CSV of exactly that
view, capacity and efficiency against cycle, and V-capacity and dQ/dV of chosen cycles. The drawing
is ``static/plots.js`` (uPlot); this is the page's markup and its wiring."""

from __future__ import annotations

RANGES = "".join(f"<button class='secondary' data-range='{m}'>last {m} min</button>" for m in (1, 5, 15, 60))

BODY = f"""
<h2>Voltage, current and temperature</h2>
<div class="plotbar" id="ranges">{RANGES}<button class="secondary on" data-range="whole">whole run</button>
 <label>from <input id="win-from" placeholder="0:00:00" title="test time, h:mm:ss or 2 d 03:00:00"></label>
 <label>to <input id="win-to" placeholder="1:00:00" title="test time, h:mm:ss or 2 d 03:00:00"></label>
 <button class="secondary" id="win-go">show window</button>
 <button class="secondary" id="pan-left" title="earlier">&#9664;</button><button class="secondary" id="pan-right" title="later">&#9654;</button>
 <button class="secondary" id="zoom-out">zoom out</button>
 <a id="view-csv" download>CSV of this view</a> <span id="resolution" class="muted"></span></div>
<p class="muted">Drag across a plot to zoom in, wheel to zoom, shift-drag to pan; full resolution once the window holds few enough samples.</p>
<figure class="panel plot"><div id="plot-v" class="plothost"></div><p class="nodata" hidden></p></figure>
<figure class="panel plot"><div id="plot-i" class="plothost"></div><p class="nodata" hidden></p></figure>
<figure class="panel plot"><div id="plot-t" class="plothost"></div><p class="nodata" hidden></p></figure>
<h2>Cycles</h2>
<div class="plotgrid">
<figure class="panel plot"><div id="plot-q" class="plothost"></div><p class="nodata" hidden></p></figure>
<figure class="panel plot"><div id="plot-e" class="plothost"></div><p class="nodata" hidden></p></figure>
</div>
<div class="plotbar"><label>cycles <input id="cycle-pick" placeholder="1, 5, 10"></label>
 <button class="secondary" id="cycle-go">show</button> <span id="cycle-message" class="muted"></span></div>
<div class="plotgrid">
<figure class="panel plot"><div id="plot-vq" class="plothost"></div><p class="nodata" hidden></p></figure>
<figure class="panel plot"><div id="plot-dqdv" class="plothost"></div><p class="nodata" hidden></p></figure>
</div>"""

SCRIPT = r"""
/* The V/I/T explorer of one experiment, wired to the range bar; the CSV link follows the view. */
function plotsFor(id, started, empty) {
  const fields = [['voltage', '#plot-v', 'voltage / V', '#1f5fa8'], ['current', '#plot-i', 'current / A', '#c05a00'],
                  ['temperature', '#plot-t', 'temperature / degC', '#b3261e']]
    .map(([field, sel, label, color]) => ({field, host: $(sel), label, color}));
  const csvBase = '/api/experiments/' + encodeURIComponent(id) + '/view.csv';
  const x = new LabPlots.TimeExplorer({experiment: id, fields, t0: started, empty, onView: v => {
    $('#view-csv').href = `${csvBase}?start=${v.start}&end=${v.end}`;
    $('#view-csv').dataset.start = v.start; $('#view-csv').dataset.end = v.end;
    $('#resolution').textContent = v.bucket ? `min/max per ${fmtAbout(v.bucket / 1000)} (zoom in for every sample)` : 'every sample';
    const span = (v.end - v.start) / 1000;
    $('#win-from').value = LabPlots.fmtClock((v.start - x.t0) / 1000); $('#win-to').value = LabPlots.fmtClock((v.end - x.t0) / 1000);
    document.querySelectorAll('#ranges [data-range]').forEach(b => b.classList.toggle('on',
      x.mode.kind === 'whole' ? b.dataset.range === 'whole' : x.mode.kind === 'last' && Number(b.dataset.range) === x.mode.minutes));
  }});
  document.querySelectorAll('#ranges [data-range]').forEach(b => b.addEventListener('click', () =>
    b.dataset.range === 'whole' ? x.whole() : x.last(Number(b.dataset.range))));
  $('#win-go').addEventListener('click', () => {
    try { const a = LabPlots.parseClock($('#win-from').value), b = LabPlots.parseClock($('#win-to').value);
          if (b <= a) throw new Error('the window must end after it starts');
          $('#resolution').className = 'muted'; x.zoomTo(x.t0 + a * 1000, x.t0 + b * 1000); }
    catch (err) { $('#resolution').className = 'error'; $('#resolution').textContent = err.message; }
  });
  $('#pan-left').addEventListener('click', () => x.pan(-0.5));
  $('#pan-right').addEventListener('click', () => x.pan(0.5));
  $('#zoom-out').addEventListener('click', () => x.zoomOut());
  return x;
}
/* Capacity and efficiency against cycle; V-capacity and dQ/dV of the chosen cycles. */
function cyclePanels(id) {
  const q = LabPlots.cycleChart($('#plot-q'), 'cycle', 'capacity / Ah', [{label: 'discharge / Ah'}, {label: 'charge / Ah'}]);
  const e = LabPlots.cycleChart($('#plot-e'), 'cycle', 'efficiency / %', [{label: 'coulombic / %'}, {label: 'energy / %'}]);
  const vq = LabPlots.xyChart($('#plot-vq'), 'capacity / Ah', 'voltage / V');
  const dqdv = LabPlots.xyChart($('#plot-dqdv'), 'voltage / V', 'dQ/dV / Ah/V');
  let known = [], picked = false;
  async function curves() {
    let wanted;
    try { wanted = LabPlots.parseCycles($('#cycle-pick').value); $('#cycle-message').className = 'muted'; $('#cycle-message').textContent = ''; }
    catch (err) { $('#cycle-message').className = 'error'; $('#cycle-message').textContent = err.message; return; }
    const chosen = wanted.join(', ');
    if (!wanted.length) { vq.set([], 'No cycle chosen.'); dqdv.set([], 'No cycle chosen.'); return; }
    let c;
    try { c = await api(`/api/experiments/${encodeURIComponent(id)}/cycle-curves?` + wanted.map(n => 'cycle=' + n).join('&')); }
    catch (err) { vq.fail(err); dqdv.fail(err); return; }
    const branches = c.flatMap(x => x.branches.map(b => ({...b, label: `cycle ${x.cycle} ${b.direction}`})));
    const none = `No samples of cycle ${chosen} were recorded.`;
    vq.set(branches.map(b => ({label: b.label, xs: b.capacity, ys: b.voltage})), none);
    dqdv.set(branches.map(b => ({label: b.label, xs: b.dqdv_voltage, ys: b.dqdv})), none);
  }
  $('#cycle-go').addEventListener('click', () => { picked = true; curves(); });
  $('#cycle-pick').addEventListener('keydown', ev => { if (ev.key === 'Enter') { picked = true; curves(); } });
  return {
    set(c, empty) {
      const n = c.map(s => s.cycle_index), pct = v => v == null ? null : v * 100;
      q.set(n, [c.map(s => s.discharge_capacity), c.map(s => s.charge_capacity)], empty);
      e.set(n, [c.map(s => pct(s.coulombic_efficiency)), c.map(s => pct(s.energy_efficiency))], empty);
      const ids = n.join(',');
      if (ids === known.join(',')) return;
      known = n;
      // Until someone picks: the first, middle and last completed cycles, as the report shows them.
      if (!picked && n.length) { $('#cycle-pick').value = [...new Set([n[0], n[Math.floor(n.length / 2)], n[n.length - 1]])].join(', '); curves(); }
      else if (!picked) { vq.set([], empty); dqdv.set([], empty); }
    },
    fail(err) { q.fail(err); e.fail(err); vq.fail(err); dqdv.fail(err); },
  };
}
"""
