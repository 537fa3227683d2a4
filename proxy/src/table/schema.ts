import { z } from 'zod';

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
    headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'invalid header name'), z.string()).optional(),
    /** Name of the upstream that serves the route (`monolith` or an extracted service). */
    target: z.string().regex(NAME, 'must name an upstream'),
    /** `forward`: proxy to target. `unavailable`: answer 503 + Retry-After without contacting any upstream. */
    mode: z.enum(['forward', 'unavailable']).default('forward'),
    /** Free text for people: what the route is and where it stands in the migration. */
    notes: z.string().max(2_000).default(''),
  })
  .strict();

/** The whole table as stored in the routes file and in the persisted state. */
export const TableSpecSchema = z
  .object({
    /** Upstream that serves every request no route claims. */
    defaultTarget: z.string().regex(NAME, 'must name an upstream').default('monolith'),
    upstreams: z.array(UpstreamSchema).min(1),
    routes: z.array(RouteSchema).default([]),
  })
  .strict();

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
