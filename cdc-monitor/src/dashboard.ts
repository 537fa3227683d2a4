import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cookieOf } from './sign-in';

/** Name of the session cookie set by `POST /login` (a digest of the token, never the token itself). */
export const SESSION_COOKIE = 'cdc_monitor_session';

/** The cookie value that proves the browser was given the token. */
export function sessionValue(token: string): string {
  return createHash('sha256').update(`cdc-monitor-session:${token}`).digest('hex');
}

/** Reads the session cookie from a `Cookie` header. */
export function sessionOf(cookieHeader: string | undefined): string | undefined {
  return cookieOf(cookieHeader, SESSION_COOKIE);
}

/** Header a change made from the dashboard page carries besides the session cookie (see {@link csrfValue}). */
export const CSRF_HEADER = 'x-dashboard-csrf';

/**
 * The value of {@link CSRF_HEADER}: written into the page only for a signed-in browser. Another site can make the
 * browser send the cookie (SameSite=Strict aside) but can neither read this value nor add a custom header without a
 * CORS preflight the monitor never grants.
 */
export function csrfValue(token: string): string {
  return createHash('sha256').update(`cdc-monitor-csrf:${token}`).digest('hex');
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:1.5rem;color:#222}h1{font-size:1.3rem}h2{font-size:1.05rem;margin-top:1.5rem}
table{border-collapse:collapse;margin:.3rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
.bad{color:#b00;font-weight:600}.good{color:#070;font-weight:600}.muted{color:#777}
.editor{border:1px solid #99a;padding:.3rem 1rem 1rem;margin:.5rem 0;background:#f6f7fb}label{margin-right:1rem;line-height:2.2}
td.num{text-align:right;font-variant-numeric:tabular-nums}th.group{text-align:center}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:.6rem;margin:.5rem 0}
.chart{border:1px solid #ddd;padding:.2rem .4rem;min-width:0}.chart h4{margin:.2rem 0;font-size:.9rem}
.chart ul.markers{margin:.1rem 0;padding-left:1rem;font-size:.8rem}.chart .empty{margin:.5rem 0}
.chart .u-legend{font-size:.8rem}.chart .u-legend td,.chart .u-legend th{border:0;padding:0 .2rem}
#routes,#audit{overflow-x:auto}`;

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * The login page, answered with 401 to any request without a session: "Sign in" with the identity provider when
 * OIDC is configured, and the admin token form (automation, break-glass) always; `message` says why the person is
 * here again (session expired, sign-in failed, missing role).
 */
export function loginPage({ oidc, message }: { oidc: boolean; message?: string }): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Warm House migration – sign in</title>
<style>${STYLE}</style></head><body><h1>Warm House migration dashboard</h1>
${message ? `<p class="bad" data-testid="login-message">${escapeHtml(message)}</p>` : ''}
${oidc ? '<p><a href="/auth/login" data-testid="oidc-sign-in"><button type="button">Sign in with your account</button></a></p><p class="muted">or with the admin token:</p>' : ''}
<form method="post" action="/login"><label>Admin token <input type="password" name="token" data-testid="token"${oidc ? '' : ' autofocus'}></label>
<button type="submit" data-testid="sign-in">Sign in</button></form></body></html>`;
}

/** The login page of a monitor without OIDC sign-in. */
export const LOGIN_PAGE = loginPage({ oidc: false });

/** Who the page is for: a person signed in with OIDC (named, with roles) or the admin token. */
export interface PageViewer {
  /** shown as "signed in as"; absent for the admin token */
  readonly person?: { readonly name: string; readonly roles: readonly string[] };
  /** whether the change controls are shown (the server refuses changes of a viewer anyway) */
  readonly canChange: boolean;
}

/** The page's script (served as `/dashboard.js`, same origin: the CSP allows no inline script). */
export const DASHBOARD_SCRIPT = readFileSync(path.join(__dirname, 'dashboard-client.js'), 'utf8');

/** The charts, fleet view and progress figure (served as `/dashboard-charts.js`; draws with uPlot). */
export const CHARTS_SCRIPT = readFileSync(path.join(__dirname, 'dashboard-charts.js'), 'utf8');

/** uPlot (npm `uplot`, MIT), the charting library, served from the project's node_modules as `/uplot.js`: no CDN. */
const UPLOT_DIST = path.join(path.dirname(require.resolve('uplot/package.json')), 'dist');
export const UPLOT_SCRIPT = readFileSync(path.join(UPLOT_DIST, 'uPlot.iife.min.js'), 'utf8');
/** uPlot's stylesheet, served as `/uplot.css`. */
export const UPLOT_STYLE = readFileSync(path.join(UPLOT_DIST, 'uPlot.min.css'), 'utf8');

/**
 * The dashboard: migration progress, the proxy fleet, routes of the proxy (with their numbers, controls and time
 * series), the proxy's audit log and the CDC panel (with time series),
 * live from the server-sent events of `/api/dashboard/events`, polling `/api/dashboard/snapshot` every 5 s when the
 * stream fails. Plain HTML and JavaScript served by the monitor (uPlot from node_modules): nothing from a CDN, no
 * build step.
 */
export function dashboardPage(csrf: string, viewer: PageViewer = { canChange: true }): string {
  const who = viewer.person
    ? `Signed in as <strong data-testid="signed-in-as">${escapeHtml(viewer.person.name)}</strong> (<span data-testid="roles">${escapeHtml(viewer.person.roles.join(', ') || 'no role')}</span>)${viewer.canChange ? '' : ' · <span data-testid="read-only">read-only</span>'}`
    : 'Signed in with the admin token';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Warm House migration</title>
<meta name="csrf" content="${csrf}"><meta name="can-change" content="${viewer.canChange}">
<link rel="stylesheet" href="/uplot.css"><style>${STYLE}</style></head><body>
<h1>Warm House migration dashboard</h1>
<form method="post" action="/logout" class="muted">${who} · <button type="submit" data-testid="sign-out">Sign out</button></form>
<p class="muted">Updated <span id="updated">never</span> · <span id="live" data-testid="live">connecting…</span></p>
<h2>Migration progress</h2><p id="progress" data-testid="progress"></p><div class="charts" id="charts-progress"></div>
<h2>Proxy fleet</h2><div id="fleet" data-testid="fleet"></div>
<h2>Routes <span class="muted" id="routes-version"></span></h2>
<p class="muted" id="stats-note" data-testid="stats-note"></p>
<div id="routes" data-testid="routes"></div>
<p id="route-message" data-testid="route-message"></p>
<section id="editor" class="editor" hidden data-testid="route-editor">
<h3>Change route <code id="ed-id"></code></h3>
<form id="ed-form">
<label>Target <select id="ed-target" data-testid="ed-target"></select></label>
<label>Mode <select id="ed-mode" data-testid="ed-mode"><option>forward</option><option>canary</option><option>shadow</option><option>unavailable</option></select></label>
<label>Canary weight (%) <input id="ed-weight" type="number" min="0" max="100" step="1" data-testid="ed-weight"></label>
<br><label>Reason (required, goes to the audit log) <input id="ed-reason" size="60" maxlength="500" data-testid="ed-reason"></label>
<br><button type="submit" data-testid="ed-review">Review change…</button> <button type="button" id="ed-cancel">Cancel</button>
</form>
<div id="ed-confirm" hidden data-testid="ed-confirm"><p id="ed-summary" data-testid="ed-summary"></p>
<button type="button" id="ed-apply" data-testid="ed-apply">Confirm change</button> <button type="button" id="ed-back">Back</button></div>
<p id="ed-error" class="bad" data-testid="ed-error"></p>
</section>
<h3>Routes over time <span class="muted">(▲ solid line: plan step · ◆ dashed line: manual change, from the audit log)</span></h3>
<div class="charts" id="charts-routes"></div>
<h2>Audit log <span class="muted">(proxy, newest first)</span></h2><div id="audit" data-testid="audit"></div>
<h2>CDC <span id="cdc-health" data-testid="cdc-health"></span></h2>
<div class="charts" id="charts-cdc"></div>
<h3>Connectors</h3><div id="connectors" data-testid="connectors"></div>
<h3>Replication slots</h3><div id="slots" data-testid="slots"></div>
<h3>Consumer lag</h3><div id="lag" data-testid="lag"></div>
<h3>Freshness per table</h3><div id="freshness" data-testid="freshness"></div>
<h3>Heartbeat probe per service</h3><div id="probes" data-testid="probes"></div>
<h3>Debezium heartbeat</h3><div id="heartbeat"></div>
<h3>Last drift check</h3><div id="drift" data-testid="drift"></div>
<script src="/uplot.js"></script><script src="/dashboard-charts.js"></script><script src="/dashboard.js"></script></body></html>`;
}
