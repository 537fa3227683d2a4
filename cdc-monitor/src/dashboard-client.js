/* global document, window, location, fetch, EventSource, setInterval, clearInterval */
// The migration dashboard's script (served as /dashboard.js; plain browser JavaScript, no build step).
// Renders the snapshot of /api/dashboard/events (server-sent events); falls back to polling /api/dashboard/snapshot.
'use strict';

(function () {
  const POLL_MS = 5000;
  /** no event for this long: the stream is considered broken and the page polls instead */
  const STALL_MS = 15000;
  const csrf = document.querySelector('meta[name="csrf"]').getAttribute('content');
  // a viewer sees no change controls (the monitor refuses their changes with 403 anyway)
  const canChange = document.querySelector('meta[name="can-change"]').getAttribute('content') === 'true';
  const $ = (id) => document.getElementById(id);
  const esc = (v) =>
    String(v === null || v === undefined ? '' : v).replace(
      /[&<>"']/g,
      (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
    );
  const table = (head, rows) =>
    rows.length === 0
      ? '<p class="muted">none</p>'
      : '<table>' +
        head +
        rows
          .map(
            (r) =>
              '<tr>' +
              r.map((c) => (c.num ? '<td class="num">' + c.v + '</td>' : '<td>' + c + '</td>')).join('') +
              '</tr>',
          )
          .join('') +
        '</table>';
  const headRow = (names) => '<tr>' + names.map((h) => '<th>' + esc(h) + '</th>').join('') + '</tr>';
  const num = (v) => ({ num: true, v: esc(v) });
  const state = (s) => '<span class="' + (s === 'RUNNING' ? 'good' : 'bad') + '">' + esc(s) + '</span>';
  const failed = (c) => (c.ok ? '' : '<p class="bad">check failed: ' + esc(c.error) + '</p>');
  const seconds = (v) => (v === null || v === undefined ? '–' : Number(v).toFixed(1) + ' s');
  const millis = (v) => (v === null || v === undefined ? '–' : Math.round(v) + ' ms');

  let routes = [];
  let upstreams = [];
  let editing = null;
  let pending = null;

  function renderRoutes(view) {
    $('routes-version').textContent = view.ok ? 'table version ' + view.version : '';
    if (!view.ok) {
      $('routes').innerHTML = '<p class="bad">' + esc(view.error) + '</p>';
      $('stats-note').textContent = '';
      return;
    }
    routes = view.rows;
    upstreams = view.upstreams;
    $('stats-note').textContent = view.stats.note;
    const head =
      '<tr><th colspan="6"></th><th class="group" colspan="3">monolith</th><th class="group" colspan="3">service</th>' +
      '<th class="group" colspan="3">shadow</th><th colspan="2"></th></tr>' +
      headRow([
        'id',
        'methods',
        'path',
        'target',
        'mode',
        'canary weight',
        'requests',
        'error rate',
        'p99',
        'requests',
        'error rate',
        'p99',
        'diff rate',
        'compared',
        'copies',
        'fallbacks',
        '',
      ]);
    $('routes').innerHTML = table(
      head,
      view.rows.map((r) => [
        esc(r.id),
        esc(r.methods),
        '<code>' + esc(r.path) + '</code>',
        esc(r.target),
        esc(r.mode),
        r.weight === null ? '' : num(r.weight + ' %'),
        num(r.monolith.requests),
        num(r.monolith.errorRate),
        num(r.monolith.p99),
        num(r.service.requests),
        num(r.service.errorRate),
        num(r.service.p99),
        num(r.shadowDiffRate),
        num(r.shadowCompared),
        r.shadowCopies.startsWith('stopped')
          ? '<span class="bad">' + esc(r.shadowCopies) + '</span>'
          : esc(r.shadowCopies),
        num(r.fallbacks),
        canChange
          ? '<button type="button" data-route="' +
            esc(r.id) +
            '" data-testid="change-' +
            esc(r.id) +
            '">Change…</button>'
          : '<span class="muted">read-only</span>',
      ]),
    );
  }

  function renderAudit(audit) {
    if (!audit.ok) {
      $('audit').innerHTML = '<p class="bad">' + esc(audit.error) + '</p>';
      return;
    }
    $('audit').innerHTML = table(
      headRow(['at', 'version', 'actor', 'action', 'route', 'from → to', 'reason']),
      audit.value.map((e) => [
        esc(e.at),
        num(e.version),
        esc(e.actor),
        esc(e.action),
        esc(e.routeId || ''),
        esc((e.from || '–') + ' → ' + (e.to || '–')),
        esc(e.reason),
      ]),
    );
  }

  function renderCdc(cdc) {
    $('cdc-health').innerHTML = cdc.healthy
      ? '<span class="good">healthy</span>'
      : '<span class="bad">not healthy</span> <span class="muted" data-testid="cdc-problems">' +
        esc(cdc.problems.join('; ')) +
        '</span>';
    $('connectors').innerHTML = table(
      headRow(['connector', 'state', 'tasks', 'error']),
      cdc.connectors.map((c) => [
        esc(c.name),
        state(c.state),
        c.tasks.map((t) => 'task ' + esc(t.id) + ' ' + state(t.state)).join(', '),
        esc((c.error || '').slice(0, 200)),
      ]),
    );
    $('slots').innerHTML =
      failed(cdc.slots) +
      (cdc.slots.ok
        ? table(
            headRow([
              'slot',
              'active',
              'wal_status',
              'retained WAL bytes',
              'flush lag bytes',
              'confirmed flush',
              'alarms',
            ]),
            cdc.slots.value.map((s) => [
              esc(s.name),
              esc(s.active),
              esc(s.walStatus),
              num(s.retainedWalBytes),
              num(s.flushLagBytes),
              esc(s.confirmedFlushLsn),
              '<span class="bad">' + esc(s.alarms.join('; ')) + '</span>',
            ]),
          )
        : '');
    $('lag').innerHTML =
      failed(cdc.lag) +
      (cdc.lag.ok
        ? table(
            headRow(['group', 'topic', 'partition', 'committed', 'end', 'lag']),
            cdc.lag.value.map((r) => [
              esc(r.group),
              esc(r.topic),
              num(r.partition),
              num(r.committed),
              num(r.end),
              num(r.lag),
            ]),
          )
        : '');
    $('freshness').innerHTML = table(
      headRow(['topic', 'table', 'last source commit', 'freshness']),
      cdc.freshness.map((f) => [
        esc(f.topic),
        esc(f.table),
        esc(f.lastSourceCommitAt || 'none seen'),
        '<span class="' + (f.overThreshold ? 'bad' : '') + '">' + seconds(f.freshnessSeconds) + '</span>',
      ]),
    );
    const p = cdc.probes;
    $('probes').innerHTML = !p
      ? '<p class="muted">no services configured (CDC_MONITOR_SERVICES)</p>'
      : (p.writeError ? '<p class="bad">probe not written: ' + esc(p.writeError) + '</p>' : '') +
        '<p class="muted">probe row ' +
        esc(p.rowId) +
        ' every ' +
        esc(p.intervalSeconds) +
        ' s, last written ' +
        esc(p.lastProbeAt || 'never') +
        '</p>' +
        table(
          headRow([
            'service',
            'reachable',
            'last latency',
            'observed',
            'pending',
            'oldest pending',
            'last applied probe',
            'problem',
          ]),
          p.services.map((s) => [
            esc(s.service),
            s.reachable === null ? '…' : s.reachable ? '<span class="good">yes</span>' : '<span class="bad">no</span>',
            num(millis(s.lastLatencyMs)),
            num(millis(s.lastObservedMs)),
            num(s.pending),
            '<span class="' + (s.overThreshold ? 'bad' : '') + '">' + seconds(s.oldestPendingSeconds) + '</span>',
            esc(s.lastAppliedProbeAt || 'none'),
            esc(s.error || ''),
          ]),
        );
    $('heartbeat').innerHTML =
      failed(cdc.heartbeat) +
      (cdc.heartbeat.ok
        ? 'last beat ' + esc(cdc.heartbeat.value.lastBeatAt) + ' (' + seconds(cdc.heartbeat.value.ageSeconds) + ' ago)'
        : '');
    $('drift').innerHTML = cdc.drift
      ? esc(cdc.drift.at) +
        ': ' +
        esc(cdc.drift.sourceRows) +
        ' rows vs ' +
        esc(cdc.drift.copyRows) +
        ' in the copy, ' +
        '<span class="' +
        (cdc.drift.differing.length ? 'bad' : 'good') +
        '">' +
        cdc.drift.differing.length +
        ' differing</span> ' +
        esc(
          cdc.drift.differing
            .slice(0, 20)
            .map((d) => d.id + ' ' + d.kind)
            .join(', '),
        )
      : '<span class="muted">not run yet</span>';
  }

  function render(s) {
    renderRoutes(s.routes);
    renderAudit(s.audit);
    renderCdc(s.cdc);
    window.dashboardCharts.render(s);
    $('updated').textContent = new Date(s.at).toLocaleTimeString();
  }

  // ---- route controls: edit → review (confirmation with the reason) → apply through the monitor → proxy admin API
  function openEditor(id) {
    const r = routes.find((x) => x.id === id);
    if (!r) return;
    editing = r;
    pending = null;
    $('ed-id').textContent = r.id;
    const targets = upstreams.indexOf(r.target) >= 0 ? upstreams : upstreams.concat([r.target]);
    $('ed-target').innerHTML = targets
      .map((u) => '<option' + (u === r.target ? ' selected' : '') + '>' + esc(u) + '</option>')
      .join('');
    $('ed-mode').value = r.mode;
    $('ed-weight').value = r.weight === null ? '' : String(r.weight);
    $('ed-reason').value = '';
    $('ed-error').textContent = '';
    $('ed-form').hidden = false;
    $('ed-confirm').hidden = true;
    $('editor').hidden = false;
    $('ed-reason').focus();
  }

  function closeEditor() {
    editing = null;
    pending = null;
    $('editor').hidden = true;
  }

  function review(ev) {
    ev.preventDefault();
    $('ed-error').textContent = '';
    const reason = $('ed-reason').value.trim();
    if (!reason) {
      $('ed-error').textContent = 'A reason is required: it goes to the proxy’s audit log.';
      return;
    }
    const change = {};
    const lines = [];
    const target = $('ed-target').value;
    const mode = $('ed-mode').value;
    if (target !== editing.target) {
      change.target = target;
      lines.push('target ' + editing.target + ' → ' + target);
    }
    if (mode !== editing.mode) {
      change.mode = mode;
      lines.push('mode ' + editing.mode + ' → ' + mode);
    }
    const w = $('ed-weight').value.trim();
    if (mode === 'canary' && w !== '' && Number(w) !== editing.weight) {
      change.weight = Number(w);
      lines.push('canary weight ' + (editing.weight === null ? '–' : editing.weight + ' %') + ' → ' + w + ' %');
    }
    if (lines.length === 0) {
      $('ed-error').textContent = 'Nothing to change.';
      return;
    }
    pending = { id: editing.id, body: Object.assign(change, { reason: reason }) };
    $('ed-summary').textContent =
      'Route ' +
      editing.id +
      ' (' +
      editing.methods +
      ' ' +
      editing.path +
      '): ' +
      lines.join('; ') +
      '. Reason: “' +
      reason +
      '”.';
    $('ed-form').hidden = true;
    $('ed-confirm').hidden = false;
  }

  async function apply() {
    if (!pending) return;
    $('ed-apply').disabled = true;
    try {
      const res = await fetch('/api/dashboard/routes/' + encodeURIComponent(pending.id), {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-dashboard-csrf': csrf },
        body: JSON.stringify(pending.body),
      });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) {
        const why = body.detail || body.title || 'HTTP ' + res.status;
        $('ed-error').textContent = 'Not changed: ' + why;
        if (res.status === 401) {
          $('ed-error').insertAdjacentHTML(
            'beforeend',
            ' <a href="/auth/login" data-testid="sign-in-again">Sign in again</a>',
          );
        }
        return;
      }
      $('route-message').innerHTML =
        '<span class="good">Route ' + esc(pending.id) + ' changed</span> (table version ' + esc(body.version) + ').';
      closeEditor();
      refreshOnce();
    } catch (err) {
      $('ed-error').textContent = 'Not changed: ' + err.message;
    } finally {
      $('ed-apply').disabled = false;
    }
  }

  $('routes').addEventListener('click', (ev) => {
    const id = ev.target && ev.target.getAttribute && ev.target.getAttribute('data-route');
    if (id) openEditor(id);
  });
  $('ed-form').addEventListener('submit', review);
  $('ed-cancel').addEventListener('click', closeEditor);
  $('ed-back').addEventListener('click', () => {
    $('ed-form').hidden = false;
    $('ed-confirm').hidden = true;
  });
  $('ed-apply').addEventListener('click', () => void apply());

  // ---- live refresh: server-sent events, polling when the stream fails
  let pollTimer = null;
  let lastEventAt = Date.now();

  async function refreshOnce() {
    const res = await fetch('/api/dashboard/snapshot', { credentials: 'same-origin' });
    if (res.status === 401) {
      location.reload();
      return;
    }
    render(await res.json());
  }

  function startPolling(why) {
    if (pollTimer !== null) return;
    $('live').textContent = 'polling every ' + POLL_MS / 1000 + ' s (' + why + ')';
    refreshOnce().catch(() => undefined);
    pollTimer = setInterval(() => refreshOnce().catch(() => undefined), POLL_MS);
  }

  function startStream() {
    if (typeof EventSource === 'undefined') return startPolling('no EventSource');
    const es = new EventSource('/api/dashboard/events');
    es.addEventListener('snapshot', (ev) => {
      lastEventAt = Date.now();
      $('live').textContent = 'live (server-sent events)';
      render(JSON.parse(ev.data));
    });
    es.addEventListener('error', () => {
      // CLOSED: the server refused the stream (a 401 among others); CONNECTING: the browser retries by itself
      if (es.readyState === EventSource.CLOSED) startPolling('event stream refused');
      else $('live').textContent = 'reconnecting…';
    });
    const watchdog = setInterval(() => {
      if (pollTimer !== null) return clearInterval(watchdog);
      if (Date.now() - lastEventAt > STALL_MS) {
        es.close();
        clearInterval(watchdog);
        startPolling('no event for ' + STALL_MS / 1000 + ' s');
      }
    }, 1000);
  }

  window.addEventListener('load', startStream);
})();
