import { createHash } from 'node:crypto';

/** Name of the session cookie set by `POST /login` (a digest of the token, never the token itself). */
export const SESSION_COOKIE = 'cdc_monitor_session';

/** The cookie value that proves the browser was given the token. */
export function sessionValue(token: string): string {
  return createHash('sha256').update(`cdc-monitor-session:${token}`).digest('hex');
}

/** Reads the session cookie from a `Cookie` header. */
export function sessionOf(cookieHeader: string | undefined): string | undefined {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === SESSION_COOKIE) return v.join('=');
  }
  return undefined;
}

/** Routes as the proxy's admin API lists them (`GET /api/routes`), only the fields the dashboard shows. */
export interface ProxyRoutes {
  ok: boolean;
  version?: unknown;
  routes?: Array<{ id: string; methods?: string[]; path: string; target: string; mode?: string; weight?: number }>;
  error?: string;
}

/** Reads the proxy's route table; never throws (the dashboard shows the reason instead). */
export async function fetchProxyRoutes(adminUrl: string | undefined, token: string | undefined): Promise<ProxyRoutes> {
  if (!adminUrl) return { ok: false, error: 'PROXY_ADMIN_URL is not set' };
  try {
    const res = await fetch(`${adminUrl.replace(/\/+$/, '')}/api/routes`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) return { ok: false, error: `proxy admin answered ${res.status}` };
    const body = (await res.json()) as { version?: unknown; routes?: ProxyRoutes['routes'] };
    return { ok: true, version: body.version, routes: body.routes ?? [] };
  } catch (err) {
    return { ok: false, error: `proxy admin unreachable: ${err instanceof Error ? err.message : String(err)}` };
  }
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:1.5rem;color:#222}h1{font-size:1.3rem}h2{font-size:1.05rem;margin-top:1.5rem}
table{border-collapse:collapse;margin:.3rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
.bad{color:#b00;font-weight:600}.good{color:#070;font-weight:600}.muted{color:#777}`;

/** The login page, answered with 401 to any request without the token. */
export const LOGIN_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Warm House migration – sign in</title>
<style>${STYLE}</style></head><body><h1>Warm House migration dashboard</h1>
<form method="post" action="/login"><label>Admin token <input type="password" name="token" data-testid="token" autofocus></label>
<button type="submit" data-testid="sign-in">Sign in</button></form></body></html>`;

/**
 * The dashboard: routes of the proxy and the CDC panel, refreshed every 5 s from `/api/dashboard/routes` and
 * `/api/cdc` (same origin, session cookie). Plain HTML and JavaScript served by the monitor: nothing from a CDN.
 */
export const DASHBOARD_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Warm House migration</title>
<style>${STYLE}</style></head><body><h1>Warm House migration dashboard</h1>
<p class="muted">Updated <span id="updated">never</span> · refreshes every 5 s</p>
<h2>Routes <span class="muted" id="routes-version"></span></h2><div id="routes" data-testid="routes"></div>
<h2>CDC <span id="cdc-health" data-testid="cdc-health"></span></h2>
<h3>Connectors</h3><div id="connectors" data-testid="connectors"></div>
<h3>Replication slots</h3><div id="slots" data-testid="slots"></div>
<h3>Consumer lag</h3><div id="lag" data-testid="lag"></div>
<h3>Freshness</h3><div id="freshness" data-testid="freshness"></div>
<h3>Heartbeat</h3><div id="heartbeat"></div>
<h3>Last drift check</h3><div id="drift" data-testid="drift"></div>
<script>
const esc = (v) => String(v ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const table = (head, rows) => rows.length === 0 ? '<p class="muted">none</p>' :
  '<table><tr>' + head.map((h) => '<th>' + esc(h) + '</th>').join('') + '</tr>' +
  rows.map((r) => '<tr>' + r.map((c) => '<td>' + c + '</td>').join('') + '</tr>').join('') + '</table>';
const state = (s) => '<span class="' + (s === 'RUNNING' ? 'good' : 'bad') + '">' + esc(s) + '</span>';
const failed = (c) => c.ok ? '' : '<p class="bad">check failed: ' + esc(c.error) + '</p>';
async function load(path) {
  const res = await fetch(path, { credentials: 'same-origin' });
  if (res.status === 401) { location.reload(); throw new Error('signed out'); }
  return res.json();
}
async function refresh() {
  const [routes, cdc] = await Promise.all([load('/api/dashboard/routes'), load('/api/cdc')]);
  document.getElementById('routes-version').textContent = routes.ok ? 'table version ' + routes.version : '';
  document.getElementById('routes').innerHTML = routes.ok
    ? table(['id', 'methods', 'path', 'target', 'mode', 'canary weight'], routes.routes.map((r) =>
        [esc(r.id), esc((r.methods ?? ['*']).join(' ')), esc(r.path), esc(r.target), esc(r.mode ?? 'forward'),
         r.mode === 'canary' ? esc(r.weight) + ' %' : '']))
    : '<p class="bad">' + esc(routes.error) + '</p>';
  document.getElementById('cdc-health').innerHTML = cdc.healthy ? '<span class="good">healthy</span>' : '<span class="bad">not healthy</span>';
  document.getElementById('connectors').innerHTML = table(['connector', 'state', 'tasks', 'error'], cdc.connectors.map((c) =>
    [esc(c.name), state(c.state), c.tasks.map((t) => 'task ' + t.id + ' ' + state(t.state)).join(', '), esc((c.error ?? '').slice(0, 200))]));
  document.getElementById('slots').innerHTML = failed(cdc.slots) + (cdc.slots.ok ? table(
    ['slot', 'active', 'wal_status', 'retained WAL bytes', 'flush lag bytes', 'confirmed flush', 'alarms'],
    cdc.slots.value.map((s) => [esc(s.name), esc(s.active), esc(s.walStatus), esc(s.retainedWalBytes),
      esc(s.flushLagBytes), esc(s.confirmedFlushLsn), '<span class="bad">' + esc(s.alarms.join('; ')) + '</span>'])) : '');
  document.getElementById('lag').innerHTML = failed(cdc.lag) + (cdc.lag.ok ? table(['group', 'topic', 'partition', 'committed', 'end', 'lag'],
    cdc.lag.value.map((r) => [esc(r.group), esc(r.topic), esc(r.partition), esc(r.committed), esc(r.end), esc(r.lag)])) : '');
  document.getElementById('freshness').innerHTML = table(['topic', 'table', 'last source commit', 'freshness (s)'],
    cdc.freshness.map((f) => [esc(f.topic), esc(f.table), esc(f.lastSourceCommitAt ?? 'none seen'),
      '<span class="' + (f.overThreshold ? 'bad' : '') + '">' + (f.freshnessSeconds === null ? '' : f.freshnessSeconds.toFixed(1)) + '</span>']));
  document.getElementById('heartbeat').innerHTML = failed(cdc.heartbeat) + (cdc.heartbeat.ok
    ? 'last beat ' + esc(cdc.heartbeat.value.lastBeatAt) + ' (' + esc(cdc.heartbeat.value.ageSeconds?.toFixed(1)) + ' s ago)' : '');
  document.getElementById('drift').innerHTML = cdc.drift
    ? esc(cdc.drift.at) + ': ' + esc(cdc.drift.sourceRows) + ' rows vs ' + esc(cdc.drift.copyRows) + ' in the copy, ' +
      '<span class="' + (cdc.drift.differing.length ? 'bad' : 'good') + '">' + cdc.drift.differing.length + ' differing</span> ' +
      esc(cdc.drift.differing.slice(0, 20).map((d) => d.id + ' ' + d.kind).join(', '))
    : '<span class="muted">not run yet</span>';
  document.getElementById('updated').textContent = new Date().toLocaleTimeString();
}
refresh().catch(() => undefined);
setInterval(() => refresh().catch(() => undefined), 5000);
</script></body></html>`;
