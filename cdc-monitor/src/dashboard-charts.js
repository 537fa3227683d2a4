/* global document, window, uPlot */
// The dashboard's charts, the fleet view and the migration progress (served as /dashboard-charts.js, after /uplot.js).
// Draws the `charts` and `fleet` parts of each snapshot; the page's script calls window.dashboardCharts.render(s).
// What was drawn is kept readable for tests and people in window.dashboardCharts.state.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const esc = (v) =>
    String(v === null || v === undefined ? '' : v).replace(
      /[&<>"']/g,
      (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
    );
  const PALETTE = ['#1f5fbf', '#2a9d3a', '#b5651d', '#8e44ad', '#c0392b', '#16a085', '#7f8c8d', '#d4a017'];
  const MARKER_COLOR = { plan: '#7b2fbf', manual: '#e07000' };
  const MARKER_SIGN = { plan: '▲ plan step', manual: '◆ manual change' };
  const HEIGHT = 170;

  /** id → { plot, signature, box, markers } */
  const plots = {};
  const state = { charts: {}, markers: [], renders: 0 };

  function bytes(v) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    let n = Math.abs(v);
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return (v < 0 ? '-' : '') + (n >= 10 || i === 0 ? n.toFixed(0) : n.toFixed(1)) + ' ' + units[i];
  }
  function formatter(unit) {
    if (unit === 'bytes') return bytes;
    if (unit === '%') return (v) => v.toFixed(v >= 10 || v === 0 ? 0 : 1) + ' %';
    if (unit === 'ms') return (v) => (v >= 1000 ? (v / 1000).toFixed(1) + ' s' : v.toFixed(v >= 10 ? 0 : 1) + ' ms');
    if (unit === 's') return (v) => v.toFixed(v >= 10 ? 0 : 1) + ' s';
    return (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2));
  }
  const time = (t) => new Date(t * 1000).toLocaleTimeString();

  function containerOf(spec) {
    if (spec.id === 'progress') return $('charts-progress');
    return spec.routeId ? $('charts-routes') : $('charts-cdc');
  }

  /** The box of one chart: title, plot area, empty state, marker list; created once. */
  function boxOf(spec) {
    const existing = plots[spec.id];
    if (existing) return existing.box;
    const box = document.createElement('div');
    box.className = 'chart';
    box.setAttribute('data-testid', 'chart-' + spec.id);
    box.innerHTML =
      '<h4>' +
      esc(spec.title) +
      ' <span class="muted">(' +
      esc(spec.unit) +
      ')</span></h4><div class="plot"></div><p class="muted empty" data-testid="empty"></p><ul class="markers"></ul>';
    containerOf(spec).appendChild(box);
    plots[spec.id] = { plot: null, signature: '', box: box, markers: [] };
    return box;
  }

  function drawMarkers(u, id) {
    const entry = plots[id];
    if (!entry) return;
    const ctx = u.ctx;
    const [min, max] = [u.scales.x.min, u.scales.x.max];
    ctx.save();
    ctx.lineWidth = 2 * (window.devicePixelRatio || 1);
    for (const m of entry.markers) {
      if (m.t < min || m.t > max) continue;
      const x = Math.round(u.valToPos(m.t, 'x', true));
      ctx.strokeStyle = MARKER_COLOR[m.kind];
      ctx.setLineDash(m.kind === 'plan' ? [] : [6, 4]);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
    }
    ctx.restore();
  }

  function makePlot(spec, data, plotEl) {
    const fmt = formatter(spec.unit);
    const width = Math.max(280, plotEl.clientWidth || 360);
    return new uPlot(
      {
        width: width,
        height: HEIGHT,
        scales: { x: { time: true } },
        series: [{ value: (u, v) => (v === null ? '–' : time(v)) }].concat(
          spec.series.map((s, i) => ({
            label: s.label,
            stroke: PALETTE[i % PALETTE.length],
            width: 1.5,
            value: (u, v) => (v === null || v === undefined ? '–' : fmt(v)),
          })),
        ),
        axes: [{}, { size: 64, values: (u, vals) => vals.map((v) => (v === null ? '' : fmt(v))) }],
        hooks: { draw: [(u) => drawMarkers(u, spec.id)] },
      },
      data,
      plotEl,
    );
  }

  function renderChart(spec, view, markers) {
    const box = boxOf(spec);
    const entry = plots[spec.id];
    const plotEl = box.querySelector('.plot');
    const emptyEl = box.querySelector('.empty');
    const own = spec.routeId ? markers.filter((m) => m.routeId === spec.routeId) : [];
    entry.markers = own;
    const first = view.t.length ? view.t[0] : Infinity;
    const inRange = own.filter((m) => m.t >= first && m.t <= view.t[view.t.length - 1]);
    box.querySelector('.markers').innerHTML = inRange
      .slice(-4)
      .map(
        (m) =>
          '<li class="marker-' +
          m.kind +
          '" data-testid="marker-' +
          m.kind +
          '" style="color:' +
          MARKER_COLOR[m.kind] +
          '">' +
          esc(MARKER_SIGN[m.kind]) +
          ' ' +
          esc(time(m.t)) +
          ': ' +
          esc(m.label) +
          '</li>',
      )
      .join('');
    state.charts[spec.id] = { empty: spec.empty, lengths: {}, markers: inRange.length, drawn: false };
    if (spec.empty) {
      if (entry.plot) entry.plot.destroy();
      entry.plot = null;
      entry.signature = '';
      emptyEl.textContent = 'Nothing to draw: ' + spec.empty;
      emptyEl.hidden = false;
      return;
    }
    emptyEl.hidden = true;
    const data = [view.t].concat(spec.series.map((s) => view.series[s.key] || view.t.map(() => null)));
    const signature = spec.series.map((s) => s.key).join('|');
    if (entry.plot && entry.signature === signature) entry.plot.setData(data);
    else {
      if (entry.plot) entry.plot.destroy();
      entry.plot = makePlot(spec, data, plotEl);
      entry.signature = signature;
    }
    // what uPlot holds, read back from the plot: values known per series
    const drawn = {};
    spec.series.forEach((s, i) => {
      drawn[s.label] = entry.plot.data[i + 1].filter((v) => v !== null && v !== undefined).length;
    });
    state.charts[spec.id].lengths = drawn;
    state.charts[spec.id].drawn = true;
  }

  function renderProgress(p) {
    const share = p.serviceSharePercent === null ? '–' : p.serviceSharePercent.toFixed(1) + ' %';
    $('progress').innerHTML =
      'Routes migrated: <b data-testid="progress-migrated">' +
      esc(p.migrated) +
      '</b> of <b data-testid="progress-total">' +
      esc(p.total) +
      '</b> (' +
      esc(p.underWay) +
      ' under way: canary or shadow) · requests served by new services now: <b data-testid="progress-share">' +
      esc(share) +
      '</b> <span class="muted">(proxy stats window, whole fleet)</span>';
  }

  function renderFleet(fleet, totals) {
    if (!fleet.ok) {
      $('fleet').innerHTML = '<p class="bad">' + esc(fleet.error) + '</p>';
      return;
    }
    const f = fleet.value;
    const runner = f.planRunner && f.planRunner.holder;
    const rows = f.processes
      .map(
        (p) =>
          '<tr data-testid="fleet-process"><td><code>' +
          esc(p.processId) +
          '</code>' +
          (p.processId === f.self ? ' <span class="muted">(answered)</span>' : '') +
          '</td><td>' +
          esc(p.host) +
          '</td><td class="num">' +
          esc(p.pid) +
          '</td><td class="num ' +
          (p.versionServed === f.storeVersion ? 'good' : 'bad') +
          '">' +
          esc(p.versionServed) +
          '</td><td>' +
          esc(p.servingFrom) +
          '</td><td>' +
          (runner === p.processId ? 'yes' : '') +
          '</td><td>' +
          esc(new Date(p.lastSeen).toLocaleTimeString()) +
          '</td></tr>',
      )
      .join('');
    $('fleet').innerHTML =
      '<p data-testid="fleet-converged" class="' +
      (f.converged ? 'good' : 'bad') +
      '">' +
      (f.converged
        ? 'converged: all ' + f.processes.length + ' processes serve table version ' + f.storeVersion
        : 'not converged: newest stored table version is ' + f.storeVersion) +
      '</p><table><tr><th>process</th><th>host</th><th>pid</th><th>version served</th><th>serving from</th>' +
      '<th>runs the plans</th><th>last seen</th></tr>' +
      rows +
      '</table>' +
      (totals
        ? '<p data-testid="fleet-totals">Requests in the stats window, all processes: <b data-testid="fleet-requests">' +
          esc(totals.requests) +
          '</b> (monolith ' +
          esc(totals.monolith) +
          ', services ' +
          esc(totals.service) +
          ', shadow compared ' +
          esc(totals.shadowCompared) +
          ') <span class="muted">summed once per process by the proxy’s control plane (GET /api/stats), not by adding ' +
          'what each process says</span></p>'
        : '');
  }

  function render(s) {
    const c = s.charts;
    renderProgress(c.progress);
    renderFleet(s.fleet, c.totals);
    const ids = {};
    for (const spec of c.charts) {
      ids[spec.id] = true;
      renderChart(spec, c.data, c.markers);
    }
    // charts of routes that are gone
    for (const id of Object.keys(plots)) {
      if (ids[id]) continue;
      if (plots[id].plot) plots[id].plot.destroy();
      plots[id].box.remove();
      delete plots[id];
      delete state.charts[id];
    }
    state.markers = c.markers;
    state.renders++;
  }

  window.addEventListener('resize', () => {
    for (const id of Object.keys(plots)) {
      const e = plots[id];
      if (e.plot) e.plot.setSize({ width: Math.max(280, e.box.querySelector('.plot').clientWidth), height: HEIGHT });
    }
  });

  window.dashboardCharts = { render: render, state: state };
})();
