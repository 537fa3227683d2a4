import { z } from 'zod';
import { PROBLEM_CONTENT_TYPE } from '@warmhouse/shared';
import { PROXY_ERRORS } from '../errors';
import { RouteSchema, UpstreamSchema } from '../table/schema';

const json = (schema: object) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
/** Every error the admin API answers is RFC 9457 problem details. */
const problem = { [PROBLEM_CONTENT_TYPE]: { schema: ref('Problem') } };
const errors = {
  400: { description: 'Invalid input; the `issues` member names each bad field', content: problem },
  401: { description: 'Missing or wrong bearer token', content: problem },
  409: {
    description:
      'If-Match / expectedVersion names a version that is no longer the newest (`PROXY_ERR_VERSION_CONFLICT`, member `currentVersion`)',
    content: problem,
  },
  503: {
    description:
      'The control store cannot be reached: nothing changed, traffic is unaffected (`PROXY_ERR_CONTROL_STORE_UNAVAILABLE`)',
    content: problem,
  },
};
/** Properties of a schema, each given by its type alone (`{ requests: 'integer' }`). */
const typed = (types: Record<string, string>) =>
  Object.fromEntries(Object.entries(types).map(([name, type]) => [name, { type }]));
/** A GET that answers 200 with what the summary says, to any authenticated caller. */
const read = (summary: string, more: { parameters?: object[]; responses?: object } = {}) => ({
  get: {
    summary,
    ...(more.parameters ? { parameters: more.parameters } : {}),
    responses: { 200: { description: 'OK' }, 401: errors[401], ...more.responses },
  },
});
/** Answers of a change of one existing route: `ok` with the change, the errors of every change, 404 for an unknown id. */
const routeChanged = (ok: string) => ({
  200: { description: ok, content: json(ref('Change')) },
  ...errors,
  404: { description: 'No such route', content: problem },
});
const ifMatch = {
  name: 'If-Match',
  in: 'header',
  required: false,
  schema: { type: 'string', example: '"12"' },
  description: 'The table version the change is based on (the `ETag` of a GET); a newer table answers 409',
};
const routeId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const actor = {
  name: 'X-Strangler-Actor',
  in: 'header',
  required: false,
  schema: { type: 'string' },
  description:
    'With the shared token: the name the automation declares (audited as `declaredActor`, actor `token:admin`); ignored for a person, who is audited by subject',
};
const reasonHeader = {
  name: 'X-Strangler-Reason',
  in: 'header',
  required: true,
  schema: { type: 'string' },
  description: 'Why (audit log)',
};

function schemaOf(s: z.ZodType): object {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

/** OpenAPI 3.1 description of the admin API (served at `/openapi.json`, rendered at `/docs`). */
export function openApiDocument(): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Strangler proxy admin API',
      version: '1.0.0',
      description:
        'Routes, upstreams, runtime toggles and the audit log of the Warm House strangler proxy. Every path except /health, /ready, /openapi.json and /docs needs `Authorization: Bearer <token>`: the shared PROXY_ADMIN_TOKEN (automation, every right) or a person\'s OIDC access token for PROXY_ADMIN_OIDC_AUDIENCE with role `strangler:viewer` (GET) or `strangler:operator` (changes). 401: no or an invalid token; 403 (`PROXY_ERR_ADMIN_FORBIDDEN`, `WWW-Authenticate: Bearer error="insufficient_scope"`): the token lacks the role. Every error is RFC 9457 problem details (`application/problem+json`, schema Problem) with a `PROXY_ERR_*` code.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Route: schemaOf(RouteSchema),
        Upstream: schemaOf(UpstreamSchema),
        Problem: {
          type: 'object',
          description:
            'RFC 9457 problem details (`application/problem+json`). `type` is `urn:warmhouse:problem:<code in kebab case>`, described in docs/errors.md under that anchor; members beyond the standard ones are extension members.',
          required: ['type', 'title', 'status', 'detail', 'code'],
          properties: {
            type: { type: 'string', format: 'uri', example: 'urn:warmhouse:problem:proxy-err-invalid-table' },
            title: { type: 'string', description: "the code's fixed summary", example: 'invalid route table' },
            status: { type: 'integer', example: 400 },
            detail: { type: 'string', description: 'what went wrong with this request' },
            code: { type: 'string', enum: Object.keys(PROXY_ERRORS), example: 'PROXY_ERR_INVALID_TABLE' },
            requestId: { type: 'string' },
            issues: {
              type: 'array',
              description: 'invalid input: each bad field (`path`) and what is wrong with it',
              items: { type: 'object', properties: typed({ path: 'string', message: 'string' }) },
            },
            currentVersion: { type: 'integer', description: 'PROXY_ERR_VERSION_CONFLICT: the newest table version' },
            expectedVersion: {
              type: ['integer', 'null'],
              description: 'PROXY_ERR_VERSION_CONFLICT: the version given',
            },
            required: {
              type: 'array',
              items: { type: 'string' },
              description: 'PROXY_ERR_ADMIN_FORBIDDEN: the roles that would allow the request',
            },
            need: {
              type: 'string',
              enum: ['read', 'change'],
              description: 'PROXY_ERR_ADMIN_FORBIDDEN: what the request needs',
            },
            routeId: { type: 'string', description: 'PROXY_ERR_ROUTE_NOT_FOUND: the unknown route' },
          },
          additionalProperties: true,
        },
        AuditEntry: {
          type: 'object',
          properties: {
            at: { type: 'string', format: 'date-time' },
            version: { type: 'integer' },
            actor: {
              type: 'string',
              description: '`oidc:<sub>` (a person), `token:admin` (the shared token), `file:<path>`, `plan`, …',
            },
            subject: { type: 'string', description: "a person's verified `sub`" },
            clientId: { type: 'string', description: "the OAuth client of a person's token" },
            declaredActor: { type: 'string', description: 'X-Strangler-Actor sent with the shared token (a claim)' },
            source: { type: 'string', enum: ['admin-api', 'file', 'startup', 'plan', 'store'] },
            action: {
              type: 'string',
              description:
                'a table change (`table.loaded`, `route.created`, `route.retargeted`, `route.updated`, `route.deleted`, `upstreams.changed`, `default-target.changed`) or `plan.progress-reset` (the plan runner started a step over instead of resuming it)',
            },
            routeId: { type: 'string' },
            from: { type: ['string', 'null'] },
            to: { type: ['string', 'null'] },
            reason: { type: 'string' },
            release: {
              type: 'object',
              description: 'for changes from a routes file rendered by Helm: the release revision that rolled them out',
              properties: { name: { type: 'string' }, revision: { type: 'integer' }, chart: { type: 'string' } },
            },
            evidence: {
              type: 'object',
              description:
                'Entries of source `plan`: the numbers the decision was made on (step, dwell, shadow counts, monolith and service requests/errors/p99, limits)',
            },
          },
        },
        TargetStats: {
          type: 'object',
          required: ['requests', 'errors', 'errorRate', 'p50Ms', 'p99Ms'],
          properties: {
            requests: { type: 'integer' },
            errors: { type: 'integer', description: '5xx answers plus transport failures and timeouts' },
            errorRate: { type: 'number', description: 'errors / requests (0 without requests)' },
            p50Ms: { type: ['number', 'null'] },
            p99Ms: { type: ['number', 'null'] },
          },
        },
        RouteStats: {
          type: 'object',
          required: ['monolith', 'service', 'shadow', 'fallbacks'],
          properties: {
            monolith: ref('TargetStats'),
            service: ref('TargetStats'),
            shadow: {
              type: 'object',
              required: ['compared', 'equal', 'different', 'serviceErrors', 'skipped', 'equalRate'],
              properties: {
                ...typed({ compared: 'integer', equal: 'integer', different: 'integer', serviceErrors: 'integer' }),
                skipped: {
                  type: 'integer',
                  description: 'not compared (no dryRun, sampled out, concurrency bound, too large)',
                },
                equalRate: { type: ['number', 'null'], description: 'equal / compared (null without comparisons)' },
              },
            },
            fallbacks: { type: 'integer', description: 'requests answered by the fallback upstream' },
          },
        },
        PlanCheck: {
          type: 'object',
          properties: {
            routeId: { type: 'string' },
            plan: { type: ['object', 'null'] },
            monolith: { type: 'string' },
            route: { type: 'object' },
            stepStartedAt: { type: 'string', format: 'date-time' },
            wouldApply: { type: 'boolean' },
            decision: {
              type: 'object',
              required: ['action', 'reason', 'step', 'evidence'],
              properties: {
                action: { type: 'string', enum: ['advance', 'hold', 'rollback'] },
                reason: { type: 'string' },
                step: { type: 'string', example: 'canary 25%' },
                next: { type: 'object' },
                evidence: { type: 'object' },
              },
            },
          },
        },
        Change: {
          type: 'object',
          properties: {
            version: { type: 'integer' },
            route: ref('Route'),
            changes: { type: 'array', items: ref('AuditEntry') },
          },
        },
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/health': {
        get: { summary: 'Liveness', security: [], responses: { 200: { description: 'Process is alive' } } },
      },
      '/ready': {
        get: {
          summary: 'Readiness (table loaded, proxy accepting)',
          security: [],
          responses: { 200: { description: 'Ready' }, 503: { description: 'Not ready' } },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: { 200: { description: 'text/plain exposition format' }, 401: errors[401] },
        },
      },
      '/api/table': read('Whole table: version, default target, upstreams, routes, last rejected change'),
      '/api/table/reload': {
        post: {
          summary: 'Re-read the routes file now',
          parameters: [actor],
          responses: { 200: { description: 'Applied or unchanged' }, 400: errors[400], 401: errors[401] },
        },
      },
      '/api/routes': read('List routes (table order) with the table version'),
      '/api/routes/{id}': {
        get: {
          summary: 'One route',
          parameters: [routeId],
          responses: {
            200: { description: 'OK', content: json(ref('Route')) },
            401: errors[401],
            404: { description: 'No such route', content: problem },
          },
        },
        put: {
          summary: 'Create or replace a route (validated with the whole table; the table is unchanged on error)',
          parameters: [routeId, reasonHeader, actor],
          requestBody: { required: true, content: json(ref('Route')) },
          responses: {
            200: { description: 'Replaced', content: json(ref('Change')) },
            201: { description: 'Created', content: json(ref('Change')) },
            ...errors,
          },
        },
        patch: {
          summary:
            'Change target, mode and/or canary weight of a route in one version (e.g. {"mode":"canary","weight":25})',
          parameters: [routeId, actor, ifMatch],
          requestBody: {
            required: true,
            content: json({
              type: 'object',
              required: ['reason'],
              properties: {
                target: { type: 'string', example: 'device-management' },
                mode: { type: 'string', enum: ['forward', 'unavailable', 'canary', 'shadow'] },
                weight: { type: 'integer', minimum: 0, maximum: 100, example: 25 },
                planStatus: {
                  type: 'string',
                  enum: ['active', 'paused'],
                  description:
                    "Pause or resume the route's plan. A change of target, mode or weight without it pauses an active plan.",
                },
                reason: { type: 'string' },
              },
            }),
          },
          responses: routeChanged('Applied (or unchanged)'),
        },
        delete: {
          summary: 'Delete a route (its requests go to the default target)',
          parameters: [routeId, reasonHeader, actor],
          responses: routeChanged('Deleted'),
        },
      },
      '/api/routes/{id}/target': {
        put: {
          summary:
            'Toggle: point a route at another upstream (new requests at once; requests in flight finish where they started)',
          parameters: [routeId, actor, ifMatch],
          requestBody: {
            required: true,
            content: json({
              type: 'object',
              required: ['target', 'reason'],
              properties: { target: { type: 'string', example: 'device-management' }, reason: { type: 'string' } },
            }),
          },
          responses: routeChanged('Applied (or unchanged)'),
        },
      },
      '/api/routes/{id}/plan': {
        get: {
          summary:
            "Dry run of the route's plan: current step, evidence and what the proxy would do now (advance, hold, rollback) and why",
          parameters: [routeId],
          responses: {
            200: { description: 'OK', content: json(ref('PlanCheck')) },
            401: errors[401],
            404: { description: 'No such route', content: problem },
          },
        },
      },
      '/api/stats': {
        get: {
          summary:
            'Rolling per-route statistics over the window (PROXY_STATS_WINDOW_SECONDS): monolith and service requests, errors, p50/p99, shadow comparisons, fallbacks',
          responses: {
            200: {
              description: 'OK',
              content: json({
                type: 'object',
                required: ['windowSeconds', 'routes'],
                properties: {
                  windowSeconds: { type: 'integer', example: 60 },
                  routes: { type: 'object', additionalProperties: ref('RouteStats') },
                },
              }),
            },
            401: errors[401],
          },
        },
      },
      '/api/upstreams': read('Upstreams with resolved origins and timeouts'),
      '/api/shadow': read(
        'Shadow counters per route (compared, equal, different, serviceErrors; not copied: skipped, sampledOut, overBudget, breakerOpen, dropped; not compared: tooLarge, notCompared) and the shadow circuit of each target',
      ),
      '/api/shadow/{id}': read(
        'Shadow counters and the latest differences of one route, with both bodies and a JSON diff',
        { parameters: [routeId], responses: { 404: { description: 'No such route', content: problem } } },
      ),
      '/api/breakers': read('Circuit breaker state and transition counts per upstream'),
      '/api/cdc': read(
        "CDC-aware reads: each polled upstream's /cdc/applied report and lag per table, per route the reads served by the service and by the source (by reason: lag, unknown, pinned) and the writes that pinned their key, the read-your-writes pin store",
      ),
      '/api/fleet': read(
        'The fleet: every live proxy process (id, host, pid, version served, serving from the store or the routes file, last seen), the newest stored version, whether all serve it, and which process runs the plans',
      ),
      '/api/fleet/workers': read(
        'Worker processes of this machine (PROXY_WORKERS): per slot the pid, state (starting, ready, restarting, stopping), start time, restarts and last exit as the primary sees them, and what the worker answered (table version served, requests answered, uptime, RSS). With several workers, /metrics labels every series with `worker` (the slot) and /api/shadow, /api/breakers and /api/cdc merge every worker’s figures and say who answered (`workers`)',
      ),
      '/api/audit': {
        get: {
          summary: 'Audit log, oldest first',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 10000, default: 100 } },
            { name: 'route', in: 'query', schema: { type: 'string' } },
          ],
          responses: {
            200: {
              description: 'OK',
              content: json({ type: 'object', properties: { entries: { type: 'array', items: ref('AuditEntry') } } }),
            },
            401: errors[401],
          },
        },
      },
    },
  };
}
