import express, { type NextFunction, type Request, type Response } from 'express';
import type { Context, Document, OpenAPIBackend } from 'openapi-backend';
import type { Logger } from 'pino';
import {
  DEFAULT_SETTINGS,
  SETTING_FIELDS,
  commandSettings,
  type DeviceCommand,
  type DeviceStatus,
  type DeviceType,
} from '../domain/device';
import type { DevicesService, SettingsPatch } from '../devices-service';
import { deviceError, isDeviceError, problemOf, type FieldProblem } from '../errors';
import type { Orchestrator, SagaView } from '../saga/orchestrator';
import { decodeCursor, deviceJson, encodeCursor } from './device-json';
import { createOpenApiBackend } from './openapi-document';
import { fieldProblems, problemHandler, type AjvError } from '@warmhouse/service-kit';
import { describeFields } from '@warmhouse/shared';
import { accessOf, mayAccess, ownerFilterOf, ownerToRecord, type Access } from '@warmhouse/messaging';

export const DRY_RUN_HEADER = 'x-strangler-dry-run';
const MAX_BODY = '64kb';

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

function unknownQueryParameters(c: Context): FieldProblem[] {
  const known = new Set(
    (c.operation?.parameters ?? [])
      .filter((p): p is { in: string; name: string } => 'in' in p && p.in === 'query')
      .map((p) => p.name),
  );
  return Object.keys(c.request.query ?? {})
    .filter((name) => !known.has(name))
    .map((name) => ({ in: 'query' as const, field: name, message: 'is not a known query parameter' }));
}

const validationError = (fields: FieldProblem[]) =>
  deviceError('DEVICE_ERR_VALIDATION', describeFields(fields), { fields });

const isJsonMediaType = (header: string | undefined) => {
  const type = (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || /^application\/[\w.-]+\+json$/.test(type);
};

const one = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : Array.isArray(v) ? String(v[0]) : undefined;

/**
 * The new API (`/api/v1/devices…`): requests routed and validated by openapi-backend against openapi.yaml,
 * errors as problem+json naming the failing fields, `X-Strangler-Dry-Run: 1` honoured on every change.
 */
export async function createV1Router({
  service,
  document,
  logger,
  orchestrator,
  firstReadingWithinSeconds = 600,
  requireIdentity = false,
}: {
  service: DevicesService;
  document: Document;
  logger: Logger;
  orchestrator?: Orchestrator;
  firstReadingWithinSeconds?: number;
  /** ownership: a request must name its caller, and sees and changes only the caller's devices */
  requireIdentity?: boolean;
}): Promise<express.Router> {
  const api: OpenAPIBackend = await createOpenApiBackend(document);
  const dryRunOf = (c: Context) => one(c.request.headers[DRY_RUN_HEADER]) === '1';
  const found = <T>(value: T | undefined, id: string): T => {
    if (value === undefined) throw deviceError('DEVICE_ERR_NOT_FOUND', `no device ${id}`);
    return value;
  };
  type Handler = (c: Context, req: Request, access: Access) => Promise<Reply>;
  /**
   * Every operation: the caller is known when ownership is on (else 401), and unknown query parameters are
   * rejected, like unknown body properties.
   */
  const op =
    (handler: Handler) =>
    (c: Context, req: Request): Promise<Reply> => {
      const decided = accessOf(req.headers, requireIdentity);
      if (!decided.ok) {
        throw deviceError('DEVICE_ERR_UNAUTHENTICATED', decided.detail, {
          fields: [{ in: 'header', field: decided.header, message: 'must name the authenticated caller' }],
        });
      }
      const unknown = unknownQueryParameters(c);
      if (unknown.length > 0) throw validationError(unknown);
      return handler(c, req, decided.access);
    };
  /** The owner a register or connect request records (the caller, under ownership). */
  const ownerFor = (access: Access, requested: string | undefined) => {
    const decided = ownerToRecord(access, requested);
    if (!decided.ok) throw validationError([{ in: 'body', field: 'ownerId', message: decided.message }]);
    return decided.ownerId;
  };
  const requestId = (req: Request) => String(req.headers['x-request-id'] ?? '') || null;

  api.register({
    listDevices: op(async (c, _req, access) => {
      const q = c.request.query as Record<string, string | undefined>;
      let afterSeq: string | undefined;
      if (q.cursor !== undefined) {
        afterSeq = decodeCursor(q.cursor);
        if (afterSeq === undefined) {
          throw validationError([{ in: 'query', field: 'cursor', message: 'is not a cursor this API gave out' }]);
        }
      }
      const page = await service.list({
        houseId: q.houseId,
        ownerId: ownerFilterOf(access),
        type: q.type as DeviceType | undefined,
        status: q.status as DeviceStatus | undefined,
        afterSeq,
        limit: q.limit === undefined ? 20 : Number(q.limit),
      });
      return {
        status: 200,
        body: {
          items: page.items.map(deviceJson),
          nextCursor: page.nextAfterSeq === null ? null : encodeCursor(page.nextAfterSeq),
        },
      };
    }),

    registerDevice: op(async (c, req, access) => {
      const body = c.request.requestBody as {
        type: DeviceType;
        name: string;
        houseId: string;
        ownerId?: string;
        settings?: SettingsPatch;
      };
      const defaults = DEFAULT_SETTINGS[body.type];
      const given = body.settings ?? {};
      const unsupported = SETTING_FIELDS.filter((f) => given[f] !== undefined && defaults[f] === null);
      if (unsupported.length > 0) {
        throw validationError(
          unsupported.map((f) => ({ in: 'body', field: `settings.${f}`, message: `is not a setting of ${body.type}` })),
        );
      }
      const device = await service.register(
        {
          type: body.type,
          name: body.name,
          houseId: body.houseId,
          ownerId: ownerFor(access, body.ownerId),
          settings: {
            on: (given.on as boolean | undefined) ?? defaults.on,
            targetTemperature: (given.targetTemperature as number | undefined) ?? defaults.targetTemperature,
          },
        },
        { dryRun: dryRunOf(c), requestId: requestId(req) },
      );
      return { status: 201, body: deviceJson(device), headers: { Location: `/api/v1/devices/${device.id}` } };
    }),

    getDevice: op(async (c, _req, access) => {
      const id = String(c.request.params.deviceId);
      return { status: 200, body: deviceJson(found(await service.find({ id }, access), id)) };
    }),

    deleteDevice: op(async (c, req, access) => {
      const id = String(c.request.params.deviceId);
      found(await service.delete({ id }, { dryRun: dryRunOf(c), requestId: requestId(req), access }), id);
      return { status: 204 };
    }),

    updateDeviceSettings: op(async (c, req, access) => {
      const id = String(c.request.params.deviceId);
      const patch = c.request.requestBody as SettingsPatch;
      const ctx = { dryRun: dryRunOf(c), requestId: requestId(req), access };
      const device = await service.changeSettings({ id }, patch, ctx);
      return { status: 200, body: deviceJson(found(device, id)) };
    }),

    sendDeviceCommand: op(async (c, req, access) => {
      const id = String(c.request.params.deviceId);
      const body = c.request.requestBody as { type: DeviceCommand['type']; targetTemperature?: number };
      if (body.type === 'set-target-temperature' && body.targetTemperature === undefined) {
        throw validationError([
          { in: 'body', field: 'targetTemperature', message: 'is required by set-target-temperature' },
        ]);
      }
      if (body.type !== 'set-target-temperature' && body.targetTemperature !== undefined) {
        throw validationError([
          { in: 'body', field: 'targetTemperature', message: `is not allowed with ${body.type}` },
        ]);
      }
      const command = body as DeviceCommand;
      const device = await service.changeSettings({ id }, commandSettings(command), {
        dryRun: dryRunOf(c),
        requestId: requestId(req),
        access,
      });
      return { status: 200, body: deviceJson(found(device, id)) };
    }),

    connectDevice: op(async (c, req, access) => {
      if (!orchestrator) throw deviceError('DEVICE_ERR_UNAVAILABLE', 'the connect saga does not run here');
      const body = c.request.requestBody as {
        type: DeviceType;
        name: string;
        houseId: string;
        ownerId?: string;
        retentionDays?: number;
        firstReadingWithinSeconds?: number;
      };
      const view = await orchestrator.start(
        {
          type: body.type,
          name: body.name,
          houseId: body.houseId,
          ownerId: ownerFor(access, body.ownerId),
          retentionDays: body.retentionDays ?? 30,
          firstReadingWithinSeconds: body.firstReadingWithinSeconds ?? firstReadingWithinSeconds,
        },
        { requestId: requestId(req) },
      );
      return {
        status: 202,
        body: sagaJson(view),
        headers: { Location: `/api/v1/devices/connect/${view.saga.id}` },
      };
    }),

    getConnectSaga: op(async (c, _req, access) => {
      if (!orchestrator) throw deviceError('DEVICE_ERR_UNAVAILABLE', 'the connect saga does not run here');
      const id = String(c.request.params.sagaId);
      const view = await orchestrator.view(id);
      if (!view || !mayAccess(access, view.device?.ownerId))
        throw deviceError('DEVICE_ERR_SAGA_NOT_FOUND', `no connect saga ${id}`);
      return { status: 200, body: sagaJson(view) };
    }),

    validationFail: async (c: Context) => {
      throw validationError([
        ...fieldProblems((c.validation.errors ?? []) as AjvError[]),
        ...unknownQueryParameters(c),
      ]);
    },
    notFound: async (c: Context) => {
      throw deviceError('DEVICE_ERR_NO_SUCH_PATH', `no operation at ${c.request.path}`);
    },
    methodNotAllowed: async (c: Context) => {
      throw deviceError(
        'DEVICE_ERR_METHOD_NOT_ALLOWED',
        `${c.request.method.toUpperCase()} is not allowed on ${c.request.path}`,
      );
    },
  });

  const router = express.Router();
  router.use(express.raw({ type: () => true, limit: MAX_BODY }));
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    try {
      res.locals.route = '/api/v1 (unmatched)';
      const raw = Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body.toString('utf8') : undefined;
      let body: unknown;
      if (raw !== undefined) {
        if (!isJsonMediaType(req.headers['content-type'])) {
          throw deviceError(
            'DEVICE_ERR_UNSUPPORTED_MEDIA_TYPE',
            `content-type must be application/json, got ${req.headers['content-type'] ?? 'none'}`,
            { fields: [{ in: 'header', field: 'content-type', message: 'must be application/json' }] },
          );
        }
        try {
          body = JSON.parse(raw);
        } catch (err) {
          throw deviceError('DEVICE_ERR_MALFORMED_BODY', `the body is not valid JSON: ${(err as Error).message}`, {
            cause: err,
            fields: [{ in: 'body', field: '', message: 'is not valid JSON' }],
          });
        }
      }
      const path = req.originalUrl.split('?')[0] ?? req.originalUrl;
      const request = {
        method: req.method,
        path,
        query: req.query as Record<string, string | string[]>,
        headers: req.headers as Record<string, string | string[]>,
        body,
      };
      res.locals.route = `/api/v1 ${api.router.matchOperation(request)?.operationId ?? '(unmatched)'}`;
      const reply = (await api.handleRequest(request, req)) as Reply;
      if (one(req.headers[DRY_RUN_HEADER]) === '1') res.setHeader('X-Strangler-Dry-Run', '1');
      for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
      if (reply.body === undefined) res.status(reply.status).end();
      else res.status(reply.status).json(reply.body);
    } catch (err) {
      next(err);
    }
  });

  // problem+json for everything that went wrong under /api/v1
  router.use(
    problemHandler({
      logger,
      catalog: { is: isDeviceError, problem: problemOf },
      codes: {
        'too-large': 'DEVICE_ERR_BODY_TOO_LARGE',
        malformed: 'DEVICE_ERR_MALFORMED_BODY',
        unavailable: 'DEVICE_ERR_UNAVAILABLE',
        internal: 'DEVICE_ERR_INTERNAL',
      },
      maxBodyBytes: MAX_BODY,
    }),
  );
  return router;
}

/** A saga as the API shows it (schema `ConnectSaga`). */
export function sagaJson({ saga, steps, device }: SagaView) {
  const iso = (d: Date | null) => (d === null ? null : d.toISOString());
  return {
    sagaId: saga.id,
    deviceId: saga.deviceId,
    state: saga.state,
    deviceStatus: device?.status ?? null,
    failureReason: saga.failureReason,
    deadlineAt: iso(saga.deadlineAt),
    retentionDays: saga.retentionDays,
    firstReadingWithinSeconds: saga.firstReadingWithinSeconds,
    createdAt: saga.createdAt.toISOString(),
    updatedAt: saga.updatedAt.toISOString(),
    finishedAt: iso(saga.finishedAt),
    steps: steps.map((s) => ({ step: s.step, status: s.status, detail: s.detail, at: s.at.toISOString() })),
  };
}
