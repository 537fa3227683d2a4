import { z } from 'zod';
import { PlanSchema } from './plan-schema';

/** HTTP methods a route can list; `*` (alone) means any method. */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'] as const;

const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const ROUTE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Per-upstream timeouts, all in milliseconds. */
export const TimeoutsSchema = z
  .object({
    /** TCP (and TLS) connect; expiry answers 504. */
    connectMs: z.number().int().positive().max(600_000).default(2_000),
    /** From sending the request to receiving the complete response head; expiry answers 504. */
    headersMs: z.number().int().positive().max(3_600_000).default(30_000),
    /** Longest pause between two chunks of the response body; expiry aborts the client connection. */
    bodyMs: z.number().int().positive().max(3_600_000).default(60_000),
  })
  .strict();

/** A named upstream (a cluster of one base URL). */
export const UpstreamSchema = z
  .object({
    /** Name used by routes' `target`; lowercase, dashes (`monolith`, `device-management`). */
    name: z.string().regex(NAME, 'must be lowercase letters, digits and dashes, starting with a letter'),
    /** Base URL, `http(s)://host:port` without path; `${VAR}` and `${VAR:-default}` are read from the environment. */
    url: z.string().min(1),
    timeouts: TimeoutsSchema.default({ connectMs: 2_000, headersMs: 30_000, bodyMs: 60_000 }),
    /** Keep-alive connections kept per upstream at most. */
    maxConnections: z.number().int().positive().max(10_000).default(256),
    /** Overrides the proxy-wide request body limit for requests routed here. */
    maxBodyBytes: z.number().int().nonnegative().optional(),
    /**
     * Circuit breaker used by routes with a `fallback` (defaults 5 consecutive failures, open 5 s): while open,
     * safe requests go straight to the fallback and mutating ones get 503 + Retry-After.
     */
    breaker: z
      .object({
        failures: z.number().int().min(1).max(10_000).default(5),
        openMs: z.number().int().min(10).max(3_600_000).default(5_000),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Route modes. */
export const ROUTE_MODES = ['forward', 'unavailable', 'canary', 'shadow'] as const;

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** A reference to an upstream by its name. */
const UPSTREAM_REF = z.string().regex(NAME, 'must name an upstream');

/**
 * Where a request's key is read: the request header `header` (such as `x-house-id`) when present, else the path
 * parameter `param` of the route's pattern (such as `id` in `/api/heating/:id`), else the client address.
 */
const KeySourceSchema = z
  .object({
    header: z.string().regex(HEADER_NAME, 'invalid header name').optional(),
    param: z.string().optional(),
  })
  .strict();

/**
 * Canary settings. The sticky key is the first of: the request header `key.header`, the path parameter
 * `key.param`, the client address. A key's bucket is a stable hash of the key alone (the same key lands in
 * the same bucket on every route, in every process, after every restart), so raising the weight only moves
 * keys from the baseline to the target, never back.
 */
export const CanarySchema = z
  .object({
    /** Upstream serving the keys outside the weight; default the table's `defaultTarget`. */
    baseline: UPSTREAM_REF.optional(),
    /** Where the sticky key is read; without both, the client address is the key. */
    key: KeySourceSchema.default({}),
    /** Honour `X-Strangler-Target: service|monolith` (or an upstream name) from testers, over the weight. */
    allowOverride: z.boolean().default(false),
  })
  .strict();

/**
 * Shadow settings: the client gets the baseline's answer; afterwards the same request goes to the route's
 * target in the background (bounded) and both answers are compared under these noise rules.
 */
export const ShadowSchema = z
  .object({
    /** Upstream answering the client; default the table's `defaultTarget`. */
    baseline: UPSTREAM_REF.optional(),
    /**
     * JSON paths not compared, e.g. `$.items[*].updatedAt`. Default `$.timestamp`: the monolith's Spring error body
     * carries a fresh timestamp on every response, so comparing it would make every error answer a difference.
     */
    ignore: z.array(z.string()).default(['$.timestamp']),
    /** Numbers within this absolute difference are equal (`20.0` and `20` always are). */
    tolerance: z.number().nonnegative().default(0),
    /** Compare arrays ignoring their order. */
    unorderedArrays: z.boolean().default(false),
    /** Response headers compared (media type only for content-type). */
    headers: z.array(z.string().regex(HEADER_NAME, 'invalid header name')).default(['content-type']),
    /**
     * The target supports `X-Strangler-Dry-Run: 1` (validates and answers inside a rolled-back transaction):
     * mutating requests are shadowed with that header. Without it they are skipped (and counted).
     */
    dryRun: z.boolean().default(false),
    /** Request and response bodies larger than this are not compared (counted as too large). */
    maxBodyBytes: z
      .number()
      .int()
      .positive()
      .max(16 * 1024 * 1024)
      .default(1024 * 1024),
    /** How many of the latest differences are kept for the admin API. */
    keepDiffs: z.number().int().min(0).max(1_000).default(20),
    /**
     * Share of the eligible requests copied (0 < r ≤ 1; 1: every one). The rest are not shadowed and counted as
     * `sampledOut`: a lower rate costs the client less latency, and comparison evidence accumulates more slowly.
     */
    sampleRate: z.number().gt(0).max(1).default(1),
    /**
     * Copy budget of the route, per proxy process: at most this many copies a second (a token bucket with one
     * second's burst). Requests over it are counted as `overBudget`. Absent: no budget (sampleRate and the
     * in-flight cap alone decide). With it, comparisons accumulate at a rate you chose, whatever the load.
     */
    copiesPerSecond: z.number().positive().max(1_000_000).optional(),
  })
  .strict();

/** An OAuth scope token (RFC 6749 §3.3: printable ASCII without space, quote or backslash). */
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;

/**
 * Authentication of a route's requests at the proxy: bearer tokens (JWT access tokens) verified against the
 * issuer's keys (PROXY_OIDC_ISSUER); the verified identity is forwarded in `X-Strangler-Subject`,
 * `X-Strangler-Client-Id` and `X-Strangler-Scopes` (docs/proxy/identity.md). Without `auth` a route is anonymous.
 */
export const AuthSchema = z
  .object({
    /**
     * `true`: a request without a token is refused (401). `false`: anonymous requests pass without identity, and a
     * token that is sent must be valid (a bad one is refused, 401).
     */
    required: z.boolean().default(true),
    /** The token's `aud` must name one of these; default PROXY_OIDC_AUDIENCE. */
    audiences: z.array(z.string().min(1).max(256)).min(1).max(16).optional(),
    /** Scopes the token must all carry (`scope` claim, or `scp`); a token without one of them is refused with 403. */
    scopes: z.array(z.string().regex(SCOPE, 'must be a scope token (no spaces)')).max(32).default([]),
  })
  .strict();

const CDC_TABLE = /^[a-z_][a-z0-9_$]*\.[a-z_][a-z0-9_$]*$/;

/**
 * CDC-aware reads: the route's data lives in the source upstream (the monolith) and reaches the service that may
 * serve it through CDC. Safe requests (GET/HEAD) the route sends to any other upstream are sent to `source`
 * instead while the service's replication lag for `tables` is above `maxLagMs` or unknown, and (with
 * `readYourWrites`) while the same key has a write answered by `source` that the service has not applied yet.
 * Mutating requests of a route with `cdc` that `source` answers with a 2xx record such a write for their key.
 */
export const CdcSchema = z
  .object({
    /** Source tables the route reads or writes, schema-qualified (`public.heating_systems`). */
    tables: z.array(z.string().regex(CDC_TABLE, 'must be schema.table in lowercase')).min(1).max(32),
    /** Upstream holding the data of record; default the table's `defaultTarget`. */
    source: UPSTREAM_REF.optional(),
    /** Where the entity key is read (the header, else the path parameter, else the client address); default `canary.key`. */
    key: KeySourceSchema.optional(),
    /** Reads go to `source` while the service is further behind than this (ms). */
    maxLagMs: z.number().int().min(0).max(3_600_000).default(5_000),
    /**
     * After a write of a key answered by `source`, its reads go to `source` until the service has applied that
     * write, for at most `pinSeconds`.
     */
    readYourWrites: z
      .object({ pinSeconds: z.number().int().min(1).max(300).default(15) })
      .strict()
      .optional(),
  })
  .strict();

/** A route: which requests it claims and where they go. */
export const RouteSchema = z
  .object({
    /** Stable id used by the admin API, the CLI, metrics and the audit log. */
    id: z.string().regex(ROUTE_ID, 'must be letters, digits, dot, dash or underscore (at most 128)'),
    /** Methods claimed; `['*']` claims every method. A route listing GET also claims HEAD. */
    methods: z
      .array(z.union([z.enum(HTTP_METHODS), z.literal('*')]))
      .min(1)
      .default(['*']),
    /** Path pattern: literal segments, `:name` for one segment, a final `*` for zero or more segments. */
    path: z.string().startsWith('/', 'must start with "/"'),
    /** Exact-value header conditions (names case-insensitive); every one must hold. */
    headers: z.record(z.string().regex(HEADER_NAME, 'invalid header name'), z.string()).optional(),
    /** Name of the upstream that serves the route (`monolith` or an extracted service). */
    target: UPSTREAM_REF,
    /**
     * `forward`: proxy to target. `unavailable`: answer 503 + Retry-After without contacting any upstream.
     * `canary`: send `weight` % of the keys (see `canary.key`) to target, the rest to `canary.baseline`.
     * `shadow`: answer from `shadow.baseline`, copy the request to target in the background and compare.
     */
    mode: z.enum(ROUTE_MODES).default('forward'),
    /** Canary share in percent (0–100) of keys sent to `target`; required by mode `canary`, ignored otherwise. */
    weight: z.number().int().min(0).max(100).optional(),
    /** Canary settings (mode `canary`); every field has a default. */
    canary: CanarySchema.optional(),
    /** Shadow settings (mode `shadow`); every field has a default. */
    shadow: ShadowSchema.optional(),
    /**
     * Fallback for safe methods (GET/HEAD without body): when the route's upstream fails (connect error,
     * timeout, 5xx, or one of `statuses`) or its circuit is open, the request is answered by `to` instead.
     * Mutating requests are never sent to another target: they get the failure (502/504 with Retry-After,
     * or 503 + Retry-After while the circuit is open).
     */
    fallback: z
      .object({
        /** Upstream answering instead; default the canary baseline, else the table's `defaultTarget`. */
        to: UPSTREAM_REF.optional(),
        /** Statuses below 500 that also count as failures (such as 404, 501 is a 5xx anyway). */
        statuses: z.array(z.number().int().min(400).max(599)).default([]),
      })
      .strict()
      .optional(),
    /** Migration plan the proxy drives (shadow → canary steps → service, rollback on a failed gate); see plan-schema.ts. */
    plan: PlanSchema.optional(),
    /** CDC-aware reads and read-your-writes pins (see {@link CdcSchema}); optional. */
    cdc: CdcSchema.optional(),
    /** Bearer-token authentication at the proxy (see {@link AuthSchema}); absent: anonymous, as the monolith is. */
    auth: AuthSchema.optional(),
    /** Free text for people: what the route is and where it stands in the migration. */
    notes: z.string().max(2_000).default(''),
  })
  .strict();

/**
 * The deployment that wrote the routes file (the Helm chart fills it from `.Release`). Not routing data: it never
 * counts as a change by itself, and file changes are audited with it, so each audit entry names the release
 * revision that rolled it out (and `helm rollback` shows up as a new revision restoring the old routes).
 */
export const ReleaseSchema = z
  .object({
    name: z.string().min(1).max(200),
    revision: z.number().int().positive(),
    /** chart name and version, such as `warm-house-0.1.0` */
    chart: z.string().max(200).optional(),
  })
  .strict();

/** The whole table as stored in the routes file and in the persisted state. */
export const TableSpecSchema = z
  .object({
    /** Upstream that serves every request no route claims. */
    defaultTarget: UPSTREAM_REF.default('monolith'),
    release: ReleaseSchema.optional(),
    upstreams: z.array(UpstreamSchema).min(1),
    routes: z.array(RouteSchema).default([]),
  })
  .strict();

/** The release that rendered a routes file. */
export type ReleaseSpec = z.output<typeof ReleaseSchema>;
/** A route mode. */
export type RouteMode = (typeof ROUTE_MODES)[number];
/** Canary settings with defaults applied. */
export type CanarySpec = z.output<typeof CanarySchema>;
/** Shadow settings with defaults applied. */
export type ShadowSpec = z.output<typeof ShadowSchema>;
/** Authentication settings of a route with defaults applied. */
export type AuthSpec = z.output<typeof AuthSchema>;
/** CDC settings of a route with defaults applied. */
export type CdcSpec = z.output<typeof CdcSchema>;
/** Input shape of a route (defaults not yet applied). */
export type RouteInput = z.input<typeof RouteSchema>;
/** A validated route with defaults applied. */
export type RouteSpec = z.output<typeof RouteSchema>;
/** A validated upstream with defaults applied. */
export type UpstreamSpec = z.output<typeof UpstreamSchema>;
/** Per-upstream timeouts. */
export type Timeouts = z.output<typeof TimeoutsSchema>;
/** Input shape of a table (as in the YAML/JSON file). */
export type TableSpecInput = z.input<typeof TableSpecSchema>;
/** A validated table spec with defaults applied (environment placeholders not yet resolved). */
export type TableSpec = z.output<typeof TableSpecSchema>;
