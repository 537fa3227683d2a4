import { z } from 'zod';
import { StatsSnapshotSchema, type StatsSnapshot } from '@warmhouse/messaging';

/** A route as the proxy's admin API lists it (`GET /api/routes`), only the fields the dashboard uses. */
export interface ProxyRoute {
  id: string;
  methods?: string[];
  path: string;
  target: string;
  mode?: string;
  weight?: number;
}

/** Checks the proxy's `GET /api/stats` answer at run time: the contract's own schema. */
const statsSchema = StatsSnapshotSchema;

/** The part of the proxy's `GET /api/shadow` the dashboard shows: the circuit of shadow copies per target. */
const shadowCircuitsSchema = z.object({
  circuits: z.record(z.string(), z.object({ state: z.enum(['closed', 'open', 'half-open']) })).optional(),
});

/** The part of the proxy's `GET /api/fleet` the dashboard shows. */
const fleetSchema = z.object({
  storeVersion: z.number(),
  converged: z.boolean(),
  self: z.string(),
  processes: z.array(
    z.object({
      processId: z.string(),
      host: z.string(),
      pid: z.number(),
      startedAt: z.string(),
      lastSeen: z.string(),
      versionServed: z.number(),
      servingFrom: z.string(),
    }),
  ),
  planRunner: z.object({ holder: z.string().nullable() }).nullable().optional(),
});

/** The proxy fleet as the dashboard shows it. */
export type ProxyFleet = z.infer<typeof fleetSchema>;

/** State of the circuit of shadow copies to an upstream (`open`: the target kept failing; copies stopped). */
export type ShadowCircuitState = 'closed' | 'open' | 'half-open';

/** The stats of the proxy, or why there are none: `missing` when the proxy has no `/api/stats` (answers 404). */
export type StatsResult =
  { state: 'ok'; stats: StatsSnapshot } | { state: 'missing' } | { state: 'error'; error: string };

/** A line of the proxy's audit log (`GET /api/audit`). */
export interface ProxyAuditEntry {
  at: string;
  version: number;
  actor: string;
  source: string;
  reason: string;
  action: string;
  routeId?: string;
  from: string | null;
  to: string | null;
}

/** A read from the proxy that never throws: the dashboard shows `error` instead. */
export type ProxyRead<T> = { ok: true; value: T } | { ok: false; error: string };

/** A change of a route as the dashboard asks for it; only the given fields change. */
export interface RouteChange {
  target?: string;
  mode?: string;
  weight?: number;
}

/** The proxy's answer to a change, relayed as is (`status` 0: the proxy did not answer). */
export interface ChangeOutcome {
  status: number;
  body: unknown;
}

/**
 * Client of the strangler proxy's admin API (`PROXY_ADMIN_URL`, bearer `PROXY_ADMIN_TOKEN`), for the dashboard:
 * routes, upstreams, per-route stats, the audit log, and route changes audited with a reason and an actor.
 */
export function createProxyAdmin(options: { url?: string; token?: string; timeoutMs?: number }) {
  const base = options.url?.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 5000;
  const headers = (extra: Record<string, string> = {}) => ({
    ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    ...extra,
  });
  const describe = (err: unknown) => `proxy admin unreachable: ${err instanceof Error ? err.message : String(err)}`;

  async function read<T>(path: string, pick: (body: unknown) => T): Promise<ProxyRead<T>> {
    if (!base) return { ok: false, error: 'PROXY_ADMIN_URL is not set' };
    try {
      const res = await fetch(`${base}${path}`, { headers: headers(), signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) return { ok: false, error: `proxy admin answered ${res.status} to GET ${path}` };
      const body: unknown = await res.json();
      try {
        return { ok: true, value: pick(body) };
      } catch (err) {
        return {
          ok: false,
          error: `unexpected answer to GET ${path}: ${err instanceof Error ? err.message : String(err)}`,
        };
      }
    } catch (err) {
      return { ok: false, error: describe(err) };
    }
  }

  return {
    configured: base !== undefined,
    routes: () =>
      read('/api/routes', (b) => {
        const body = b as { version?: number; routes?: ProxyRoute[] };
        return { version: body.version ?? null, routes: body.routes ?? [] };
      }),
    /** Upstream names and the default target (the monolith every route starts on). */
    upstreams: () =>
      read('/api/upstreams', (b) => {
        const body = b as { defaultTarget?: string; upstreams?: Array<{ name: string }> };
        return { names: (body.upstreams ?? []).map((u) => u.name), defaultTarget: body.defaultTarget ?? null };
      }),
    /** `GET /api/fleet`: every live proxy process and the version it serves (checked with {@link fleetSchema}). */
    fleet: () => read('/api/fleet', (b) => fleetSchema.parse(b)),
    audit: (limit = 20) =>
      read(`/api/audit?limit=${limit}`, (b) => (b as { entries?: ProxyAuditEntry[] }).entries ?? []),
    /** `GET /api/stats`; a 404 means this proxy does not have it (yet): `missing`, shown as "n/a". */
    async stats(): Promise<StatsResult> {
      if (!base) return { state: 'error', error: 'PROXY_ADMIN_URL is not set' };
      try {
        const res = await fetch(`${base}/api/stats`, { headers: headers(), signal: AbortSignal.timeout(timeoutMs) });
        if (res.status === 404) return { state: 'missing' };
        if (!res.ok) return { state: 'error', error: `proxy admin answered ${res.status} to GET /api/stats` };
        const parsed = statsSchema.safeParse(await res.json());
        if (!parsed.success) return { state: 'error', error: `unexpected /api/stats answer: ${parsed.error.message}` };
        return { state: 'ok', stats: parsed.data };
      } catch (err) {
        return { state: 'error', error: describe(err) };
      }
    },
    /** Circuits of shadow copies per target upstream (`GET /api/shadow`); empty when unknown. Never throws. */
    async shadowCircuits(): Promise<Record<string, ShadowCircuitState>> {
      if (!base) return {};
      try {
        const res = await fetch(`${base}/api/shadow`, { headers: headers(), signal: AbortSignal.timeout(timeoutMs) });
        if (!res.ok) return {};
        const parsed = shadowCircuitsSchema.safeParse(await res.json());
        if (!parsed.success) return {};
        return Object.fromEntries(Object.entries(parsed.data.circuits ?? {}).map(([name, c]) => [name, c.state]));
      } catch {
        return {};
      }
    },
    /**
     * `PATCH /api/routes/:id` with the reason. With `accessToken` (a person's), that token is sent instead of the
     * shared one and the proxy audits the person (`oidc:<sub>`); else it audits `token:admin` with the declared
     * `actor`. Never throws.
     */
    async changeRoute(
      id: string,
      change: RouteChange,
      reason: string,
      actor: string,
      accessToken?: string,
    ): Promise<ChangeOutcome> {
      if (!base) return { status: 0, body: { detail: 'PROXY_ADMIN_URL is not set' } };
      const auth: Record<string, string> = accessToken === undefined ? {} : { authorization: `Bearer ${accessToken}` };
      try {
        const res = await fetch(`${base}/api/routes/${encodeURIComponent(id)}`, {
          method: 'PATCH',
          headers: headers({ 'content-type': 'application/json', 'x-strangler-actor': actor, ...auth }),
          body: JSON.stringify({ ...change, reason }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await res.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text) as unknown;
        } catch {
          // not JSON: relayed as text
        }
        return { status: res.status, body };
      } catch (err) {
        return { status: 0, body: { detail: describe(err) } };
      }
    },
  };
}

/** The client created by {@link createProxyAdmin}. */
export type ProxyAdmin = ReturnType<typeof createProxyAdmin>;
