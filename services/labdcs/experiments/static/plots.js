/* labdcs plots on uPlot (vendored, see VENDOR.md): axes people read (test time as h:mm:ss and days,
   whole cycles, plain decimals), time plots of an experiment that zoom, pan and follow a live run,
   cycle plots and x-y curves. Uses the page helpers of web_base.py ($, api, say, fmtDuration, failed).
   Every host element gets data-points (values drawn) and data-xticks (the x tick labels), which the
   browser tests read. */
'use strict';
const LabPlots = (() => {
  const COLORS = ['#1f5fa8', '#c05a00', '#2a7d2e', '#b3261e', '#6a3d9a', '#8a6d00', '#00838f', '#ad1457'];
  const HEIGHT = 240;
  /* Decimals that make every tick of this increment distinct, never an exponent. */
  function decimalsFor(incr) {  // 0.025 -> 3 (0.075, not 0.07), 0.5 -> 1, 20 -> 0
    for (let d = 0; d < 12; d++) { const x = incr * 10 ** d; if (Math.abs(Math.round(x) - x) < 1e-6 * Math.max(1, x)) return d; }
    return 12;
  }
  const plain = (v, decimals) => { const t = v.toFixed(decimals); return Number(t) === 0 ? (0).toFixed(decimals) : t; };
  /* Elapsed test time (s) as a clock reads it: 0:05:00, 1 d 02:00:00; tenths when ticks are closer than 1 s. */
  function fmtClock(s, incr = 1) {
    if (incr >= 1) return fmtDuration(s);
    const whole = Math.floor(s + 1e-9), frac = s - whole;
    return fmtDuration(whole) + '.' + plain(frac, decimalsFor(incr)).split('.')[1];
  }
  const TIME_INCRS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
    21600, 43200, 86400, 172800, 432000, 864000, 1728000, 4320000];
  const WHOLE_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];
  const record = (host, key) => (labels) => { host.dataset[key] = labels.join(' '); return labels; };
  function valueAxis(label, host) {
    const keep = host ? record(host, 'yticks') : x => x;
    return {label, size: 70, values: (u, splits, ax, space, incr) => keep(splits.map(v => plain(v, decimalsFor(incr))))};
  }
  const timeAxis = (host, label = 'test time (h:mm:ss)') => ({label, space: 110, incrs: TIME_INCRS,
    values: (u, splits, ax, space, incr) => record(host, 'xticks')(splits.map(v => fmtClock(v, incr)))});
  const wholeAxis = (host, label) => ({label, space: 40, incrs: WHOLE_INCRS,
    values: (u, splits) => record(host, 'xticks')(splits.map(v => String(Math.round(v))))});
  const numberAxis = (host, label) => ({label, space: 60,
    values: (u, splits, ax, space, incr) => record(host, 'xticks')(splits.map(v => plain(v, decimalsFor(incr))))});
  function sized(host, opts, data) {
    const u = new uPlot({width: Math.max(300, host.clientWidth), height: HEIGHT, ...opts}, data, host);
    u.watch = new ResizeObserver(() => { if (host.clientWidth && Math.abs(host.clientWidth - u.width) > 2) u.setSize({width: host.clientWidth, height: HEIGHT}); });
    u.watch.observe(host);
    return u;
  }
  const countOf = (data) => data.length > 1 ? data.slice(1).reduce((n, ys) => n + ys.filter(v => v != null).length, 0) : 0;
  /* x values that have a value in some series (cycles drawn, samples drawn). */
  const drawnXs = (data) => data.length > 1 ? data[0].filter((x, k) => data.slice(1).some(ys => ys[k] != null)).length : 0;
  function show(host, u, data, empty, resetScales = true) {
    const n = drawnXs(data);
    host.dataset.points = String(n);
    u.setData(n ? data : data.map(() => []), resetScales);
    say(host, n ? '' : empty);
  }
  function fail(host, u, err) {
    host.dataset.points = '0'; host.dataset.xticks = '';
    if (u) u.setData(u.data.map(() => []));
    say(host, failed(err), true);
  }

  /* V, I and T (or any fields) of one experiment over a shared time window. `opts`: {experiment,
     fields: [{field, host, label, color}], t0 (ms, the run's start), empty() (the sentence when
     there are no data), onView(view) (after every load: {start, end, bucket})}. */
  class TimeExplorer {
    constructor(opts) {
      Object.assign(this, opts);
      this.base = '/api/experiments/' + encodeURIComponent(opts.experiment);
      this.mode = {kind: 'whole'}; this.view = null; this.seq = 0; this.data = {}; this.lastT = null;
      this.charts = this.fields.map(f => this.chart(f));
    }
    x(ms) { return (ms - this.t0) / 1000; }
    ms(x) { return Math.round(x * 1000 + this.t0); }
    chart(f) {
      const self = this;
      const opts = {
        legend: {show: false},
        scales: {x: {time: false, range: (u, lo, hi) => self.view ? [self.x(self.view.start), self.x(Math.max(self.view.end, self.view.start + 1000))] : [lo, hi]}},
        axes: [timeAxis(f.host), valueAxis(f.label, f.host)],
        series: [{}, {label: f.label + ' (max)', stroke: f.color, width: 1.2, spanGaps: false},
                 {label: f.label + ' (min)', stroke: f.color, width: 1.2, spanGaps: false}],
        bands: [{series: [1, 2], fill: f.color + '44'}],
        cursor: {sync: {key: 'lab-' + this.experiment}, drag: {x: true, y: false, setScale: false},
          bind: {mousedown: (u, targ, handler) => e => { if (e.shiftKey) { self.startPan(u, e); return null; } return handler(e); }}},
        hooks: {setSelect: [u => { if (u.select.width > 4) {
          const a = u.posToVal(u.select.left, 'x'), b = u.posToVal(u.select.left + u.select.width, 'x');
          u.setSelect({left: 0, width: 0, top: 0, height: 0}, false);
          self.zoomTo(self.ms(a), self.ms(b)); } }]},
      };
      const u = sized(f.host, opts, [[], [], []]);
      u.over.addEventListener('wheel', e => { e.preventDefault(); self.wheel(u, e); }, {passive: false});
      return u;
    }
    startPan(u, e) {
      const x0 = e.clientX, view = {...this.view};
      const up = ev => {
        document.removeEventListener('mouseup', up);
        const perPx = (view.end - view.start) / u.bbox.width * devicePixelRatio, shift = -(ev.clientX - x0) * perPx;
        if (Math.abs(ev.clientX - x0) > 2) this.zoomTo(view.start + shift, view.end + shift);
      };
      document.addEventListener('mouseup', up);
    }
    wheel(u, e) {
      if (!this.view) return;
      const at = this.ms(u.posToVal(e.offsetX, 'x')), k = e.deltaY < 0 ? 0.8 : 1.25;
      const start = at - (at - this.view.start) * k, end = at + (this.view.end - at) * k;
      clearTimeout(this.wheeling); this.wheeling = setTimeout(() => this.zoomTo(start, end), 200);
    }
    /* Ranges: 'whole', or {last: minutes} of the latest data, or a window in ms. */
    whole() { this.mode = {kind: 'whole'}; return this.load(); }
    last(minutes) { this.mode = {kind: 'last', minutes}; return this.load(); }
    zoomTo(start, end) {
      if (end - start < 2000) { const mid = (start + end) / 2; start = mid - 1000; end = mid + 1000; }
      this.mode = {kind: 'window'}; return this.load(Math.round(start), Math.round(end));
    }
    pan(fraction) { if (this.view) { const d = (this.view.end - this.view.start) * fraction; return this.zoomTo(this.view.start + d, this.view.end + d); } }
    zoomOut() { if (this.view) { const d = (this.view.end - this.view.start) / 2; return this.zoomTo(this.view.start - d, this.view.end + d); } }
    width() { return Math.max(300, Math.round(this.fields[0].host.clientWidth || 1000)); }
    async load(start = null, end = null) {
      const seq = ++this.seq, p = new URLSearchParams({width: this.width()});
      this.fields.forEach(f => p.append('field', f.field));
      if (this.mode.kind === 'last') {
        const latest = this.lastT ?? this.view?.end;
        if (latest != null) p.set('start', latest - this.mode.minutes * 60000);
      } else if (this.mode.kind === 'window') { p.set('start', Math.max(0, start)); p.set('end', Math.max(0, end)); }
      let r;
      try { r = await api(`${this.base}/plot?${p}`); }
      catch (err) { if (seq === this.seq) this.fields.forEach((f, k) => fail(f.host, this.charts[k], err)); return false; }
      if (seq !== this.seq) return true;
      if (r.start == null) { this.view = null; this.fields.forEach((f, k) => { f.host.dataset.bucket = '0'; show(f.host, this.charts[k], [[], [], []], this.empty()); }); return true; }
      if (this.t0 == null) this.t0 = r.start;
      this.view = {start: r.start, end: r.end};
      r.fields.forEach(e => { this.data[e.field] = e; });
      this.lastT = Math.max(this.lastT ?? 0, r.end);  // the newest sample read (a bucket's time is its start)
      this.slide();
      this.draw();
      return true;
    }
    /* "Last N minutes": the window ends at the newest sample; what fell out of it is dropped. */
    slide() {
      if (this.mode.kind !== 'last') return;
      this.view.end = Math.max(this.view.end, this.lastT);
      this.view.start = this.view.end - this.mode.minutes * 60000;
      Object.values(this.data).forEach(d => {
        const cut = d.t.findIndex(t => t >= this.view.start);
        if (cut > 0) { d.t.splice(0, cut); d.min.splice(0, cut); d.max.splice(0, cut); }
      });
    }
    draw() {
      this.fields.forEach((f, k) => {
        const e = this.data[f.field];
        f.host.dataset.bucket = String(e.bucket_ms); f.host.dataset.start = String(this.view.start); f.host.dataset.end = String(this.view.end);
        show(f.host, this.charts[k], [e.t.map(t => this.x(t)), e.max, e.min], this.empty());
        f.host.dataset.points = String(e.max.filter(v => v != null).length);  // samples or buckets, not min and max twice
      });
      this.draws = (this.draws || 0) + 1; this.fields[0].host.dataset.draws = String(this.draws);  // for benchmarks and tests
      if (this.onView) this.onView({...this.view, bucket: Math.max(...this.fields.map(f => this.data[f.field].bucket_ms))});
    }
    /* A live run: the samples newer than the last one drawn, appended (the run is not read again). */
    async follow() {
      if (this.mode.kind === 'window' || this.lastT == null || !this.view) return;
      const p = new URLSearchParams({width: this.width(), since: this.lastT});
      this.fields.forEach(f => p.append('field', f.field));
      let r;
      const seq = this.seq;
      try { r = await api(`${this.base}/plot?${p}`); } catch (err) { return; }
      if (seq !== this.seq || !r.fields.some(e => e.t.length)) return;
      r.fields.forEach(e => {
        const d = this.data[e.field];
        d.t.push(...e.t); d.min.push(...e.min); d.max.push(...e.max);
      });
      this.lastT = Math.max(this.lastT, r.end);
      this.view.end = Math.max(this.view.end, this.lastT);
      this.slide();
      this.draw();
    }
  }

  /* Values against whole cycles: series [{label, color}], set(xs, [ys...]). */
  function cycleChart(host, xlabel, ylabel, series) {
    const opts = {
      legend: {show: true, live: false},
      scales: {x: {time: false, range: (u, lo, hi) => lo == null ? [0, 1] : [lo - 0.5, hi + 0.5]}},
      axes: [wholeAxis(host, xlabel), valueAxis(ylabel, host)],
      series: [{}, ...series.map((s, k) => ({label: s.label, stroke: s.color || COLORS[k % COLORS.length], width: 1.5, spanGaps: true,
        points: {show: (u, si, i0, i1) => i1 - i0 < 80}}))],
      cursor: {drag: {x: true, y: false}},
    };
    const u = sized(host, opts, [[], ...series.map(() => [])]);
    return {u, set: (xs, ys, empty) => show(host, u, [xs, ...ys], empty), fail: err => fail(host, u, err),
      destroy: () => { u.watch.disconnect(); u.destroy(); host.replaceChildren(); }};
  }

  /* Curves with their own x values (V against capacity, dQ/dV against V): set([{label, xs, ys}]). */
  function xyChart(host, xlabel, ylabel) {
    let u = null;
    function set(curves, empty) {
      const tables = curves.map(c => {
        const pairs = c.xs.map((x, k) => [x, c.ys[k]]).filter(p => p[0] != null && p[1] != null).sort((a, b) => a[0] - b[0]);
        const xs = [], ys = [];
        pairs.forEach(([x, y]) => { if (xs.length && xs[xs.length - 1] === x) ys[ys.length - 1] = y; else { xs.push(x); ys.push(y); } });
        return [xs, ys];
      }).filter(t => t[0].length);
      const data = tables.length ? uPlot.join(tables) : [[]];
      if (u) { u.watch.disconnect(); u.destroy(); u = null; host.replaceChildren(); }
      const shown = curves.filter(c => c.xs.length);
      u = sized(host, {
        legend: {show: shown.length > 0, live: false},
        scales: {x: {time: false}},
        axes: [numberAxis(host, xlabel), valueAxis(ylabel, host)],
        series: [{}, ...shown.map((c, k) => ({label: c.label, stroke: c.color || COLORS[k % COLORS.length], width: 1.3, spanGaps: true, points: {show: false}}))],
        cursor: {drag: {x: true, y: true, uni: 30}},
      }, data.length > 1 ? data : [[]]);
      host.dataset.points = String(countOf(data));
      say(host, countOf(data) ? '' : empty);
    }
    return {set, fail: err => { host.dataset.points = '0'; say(host, failed(err), true); }};
  }

  /* "1, 3, 10" or "1-3" as cycle numbers (at most 8). */
  function parseCycles(text) {
    const out = [];
    for (const part of String(text).split(/[\s,;]+/).filter(Boolean)) {
      const m = part.match(/^(\d+)(?:-(\d+))?$/);
      if (!m) throw new Error(`"${part}" is not a cycle number (write e.g. 1, 5, 10 or 1-3)`);
      const a = Number(m[1]), b = Number(m[2] ?? m[1]);
      for (let n = Math.min(a, b); n <= Math.max(a, b) && out.length < 8; n++) if (!out.includes(n)) out.push(n);
    }
    return out;
  }
  /* "1:30:00", "2 d 03:00:00", "90" (minutes? no: seconds), "15:00" (m:ss) as seconds of test time. */
  function parseClock(text) {
    const m = String(text).trim().match(/^(?:(\d+)\s*d\s*)?(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d+)?)$/);
    if (!m) throw new Error(`"${text}" is not a test time (write h:mm:ss, e.g. 1:30:00, or 2 d 03:00:00)`);
    const [, d, a, b, s] = m, parts = [a, b].filter(x => x != null).map(Number);
    const h = parts.length === 2 ? parts[0] : 0, min = parts.length === 2 ? parts[1] : parts.length === 1 ? parts[0] : 0;
    return Number(d || 0) * 86400 + h * 3600 + min * 60 + Number(s);
  }
  /* Tick labels of values `incr` apart, as the value axes write them. */
  const tickLabels = (values, incr) => values.map(v => plain(v, decimalsFor(incr)));
  return {COLORS, TimeExplorer, cycleChart, xyChart, parseCycles, parseClock, fmtClock, tickLabels};
})();
