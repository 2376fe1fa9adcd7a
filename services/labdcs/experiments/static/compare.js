/* The compare page (compare.py): experiments picked by filters, overlaid against cycle and as V
   against capacity of one cycle; everything chosen lives in the URL. */
'use strict';
function startCompare() {
  const url = new URL(location.href), params = url.searchParams;
  const chosen = params.getAll('e');
  const filters = ['type', 'protocol', 'station', 'status'];
  let cellType = {}, experiments = {}, cycles = {};
  const charts = {};
  const PANELS = [['cmp-capacity', 'discharge capacity / Ah', s => s.discharge_capacity],
    ['cmp-ce', 'coulombic efficiency / %', s => s.coulombic_efficiency == null ? null : s.coulombic_efficiency * 100],
    ['cmp-ee', 'energy efficiency / %', s => s.energy_efficiency == null ? null : s.energy_efficiency * 100],
    ['cmp-resistance', 'DC resistance / mOhm', s => s.dc_resistance == null ? null : s.dc_resistance * 1000]];
  const vq = LabPlots.xyChart($('#cmp-vq'), 'capacity / Ah', 'voltage / V');
  function remember() {
    const p = new URLSearchParams();
    chosen.forEach(id => p.append('e', id));
    filters.forEach(f => { const v = $('#f-' + f).value; if (v) p.set(f, v); });
    if ($('#cmp-cycle').value) p.set('cycle', $('#cmp-cycle').value);
    history.replaceState(null, '', '/compare' + (p.toString() ? '?' + p : ''));
  }
  async function list() {
    const p = new URLSearchParams({limit: 500, sort: 'created', order: 'desc'});
    ['protocol', 'station', 'status'].forEach(f => { const v = $('#f-' + f).value; if (v) p.set(f, v); });
    let page;
    try { page = await api('/api/experiments?' + p); }
    catch (err) { $('#picker').replaceChildren(); say($('#picker'), failed(err, 'the experiments'), true); return; }
    const type = $('#f-type').value;
    const shown = page.items.filter(e => !type || cellType[e.cell] === type);
    shown.forEach(e => { experiments[e.id] = e; });
    for (const id of chosen) if (!experiments[id]) {
      try { experiments[id] = await api('/api/experiments/' + encodeURIComponent(id)); } catch (err) { experiments[id] = {id, name: `(${err.message})`}; }
    }
    const rows = [...chosen.filter(id => !shown.some(e => e.id === id)).map(id => experiments[id]), ...shown];
    $('#picker').innerHTML = rows.map(e => {
      const text = `${e.id} · ${e.name || ''} · ${e.cell || ''} · ${e.protocol || ''} · ${e.station || ''} · ${e.status || ''}`;
      return `<label title="${esc(text)}"><input type="checkbox" value="${esc(e.id)}"${chosen.includes(e.id) ? ' checked' : ''}> ${esc(text)}</label>`;
    }).join('');
    say($('#picker'), rows.length ? '' : 'No experiment matches these filters.');
    $('#picker').querySelectorAll('input').forEach(box => box.addEventListener('change', () => {
      const k = chosen.indexOf(box.value);
      if (box.checked && k < 0) chosen.push(box.value); else if (!box.checked && k >= 0) chosen.splice(k, 1);
      remember(); draw();
    }));
  }
  async function draw() {
    $('#chosen').textContent = chosen.length ? `comparing ${chosen.join(', ')}` : '';
    const none = 'Choose experiments above to compare them.';
    let stats;
    try { stats = await Promise.all(chosen.map(async id => cycles[id] ??= await api(`/api/experiments/${encodeURIComponent(id)}/cycles`))); }
    catch (err) { PANELS.forEach(([host]) => { charts[host]?.destroy(); delete charts[host]; $('#' + host).dataset.points = '0'; say($('#' + host), failed(err), true); }); vq.fail(err); return; }
    const xs = [...new Set(stats.flatMap(c => c.map(s => s.cycle_index)))].sort((a, b) => a - b);
    PANELS.forEach(([host, label, value]) => {
      charts[host]?.destroy();
      charts[host] = LabPlots.cycleChart($('#' + host), 'cycle', label, chosen.map(id => ({label: id})));
      const ys = stats.map(c => { const by = new Map(c.map(s => [s.cycle_index, value(s)])); return xs.map(n => by.get(n) ?? null); });
      charts[host].set(xs, ys, chosen.length ? 'No cycle values for the chosen experiments.' : none);
    });
    await curves(none);
  }
  async function curves(none) {
    if (!chosen.length) { vq.set([], none); return; }
    const cycle = Number($('#cmp-cycle').value || 1);
    let all;
    try { all = await Promise.all(chosen.map(id => api(`/api/experiments/${encodeURIComponent(id)}/cycle-curves?cycle=${cycle}`))); }
    catch (err) { vq.fail(err); return; }
    const lines = all.flatMap((c, k) => c.flatMap(x => x.branches.map(b => ({label: `${chosen[k]} ${b.direction}`, xs: b.capacity, ys: b.voltage}))));
    vq.set(lines, `No samples of cycle ${cycle} in the chosen experiments.`);
  }
  $('#cmp-cycle').value = params.get('cycle') || '1';
  $('#cmp-cycle-go').addEventListener('click', () => { remember(); curves('Choose experiments above to compare them.'); });
  filters.forEach(f => $('#f-' + f).addEventListener('change', () => { remember(); list(); }));
  (async () => {
    let types, cells, protocols, stations;
    try {
      [types, cells, protocols, stations] = await Promise.all([api('/api/cell-types?limit=500'), api('/api/cells?limit=500'),
        api('/api/protocols?limit=500'), api('/api/stations?limit=500')]);
    } catch (err) { say($('#picker'), failed(err, 'the filters'), true); types = cells = protocols = stations = {items: []}; }
    cells.items.forEach(c => { cellType[c.id] = c.type; });
    options($('#f-type'), types.items, x => x.id, x => `${x.manufacturer} ${x.model}`, 'all');
    options($('#f-protocol'), protocols.items, x => x.id, x => x.id, 'all');
    options($('#f-station'), stations.items, x => x.id, x => x.id, 'all');
    filters.forEach(f => { if (params.get(f)) $('#f-' + f).value = params.get(f); });
    await list(); await draw();
  })();
}
