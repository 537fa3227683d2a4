import type { NextFunction, Request, Response } from 'express';
import {
  ANYONE,
  IDENTITY_HEADERS,
  IDENTITY_SCOPES,
  accessOf,
  hasScope,
  mayAccess,
  type Access,
} from '@warmhouse/messaging';
import { sendProblem } from '@warmhouse/shared';
import { problemOf, type TelemetryErrorCode } from '../errors';

/** Ownership of `/api/v1/telemetry` (TELEMETRY_REQUIRE_IDENTITY; docs/identity-headers.md). */
export interface OwnershipDeps {
  /** a request must name its caller (`X-Strangler-Subject`, set by the proxy) */
  required: boolean;
  /** owners of those of `deviceIds` the connect-device saga provisioned (null: provisioned without an owner) */
  ownersOf: (deviceIds: readonly string[]) => Promise<ReadonlyMap<string, string | null>>;
}

export type GateDecision =
  { ok: true; access: Access } | { ok: false; code: TelemetryErrorCode; detail: string; header: string };

/**
 * Who may call what (pure): without a caller, 401; ingest (`POST` on the API root) needs the device scope
 * `telemetry:ingest` (a gateway's client-credentials token) or an operator, else 403; reads go on, scoped by
 * {@link readableDevices}.
 */
export function gateDecision(
  req: { ingest: boolean; headers: Record<string, unknown> },
  required: boolean,
): GateDecision {
  const decided = accessOf(req.headers, required);
  if (!decided.ok)
    return { ok: false, code: 'TELEMETRY_ERR_UNAUTHENTICATED', detail: decided.detail, header: decided.header };
  if (req.ingest && !hasScope(decided.access, IDENTITY_SCOPES.telemetryIngest)) {
    return {
      ok: false,
      code: 'TELEMETRY_ERR_FORBIDDEN',
      detail: `sending readings needs the scope ${IDENTITY_SCOPES.telemetryIngest} (a gateway's token) or ${IDENTITY_SCOPES.operator}`,
      header: IDENTITY_HEADERS.scopes,
    };
  }
  return decided;
}

/** Those of `deviceIds` `access` may read (pure): its own devices; every device for operators and without identity. */
export function readableDevices(
  access: Access,
  deviceIds: readonly string[],
  owners: ReadonlyMap<string, string | null>,
): Set<string> {
  return new Set(deviceIds.filter((id) => mayAccess(access, owners.get(id) ?? null)));
}

/** The access the gate decided for this request (anyone when the gate did not run). */
export const accessOfResponse = (res: Response): Access => (res.locals.access as Access | undefined) ?? ANYONE;

/** Express middleware for `/api/v1/telemetry`: answers 401/403 (problem+json) or records the access for the handlers. */
export function identityGate(required: boolean, apiRoot: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const path = req.originalUrl.split('?')[0] ?? '';
    const decided = gateDecision({ ingest: req.method === 'POST' && path === apiRoot, headers: req.headers }, required);
    if (!decided.ok) {
      return sendProblem(
        res,
        problemOf(decided.code, decided.detail, {
          errors: [
            {
              in: 'header',
              field: decided.header,
              message:
                decided.code === 'TELEMETRY_ERR_FORBIDDEN' ? 'lacks the scope' : 'must name the authenticated caller',
            },
          ],
          instance: req.originalUrl,
          requestId: String(req.headers['x-request-id'] ?? ''),
        }),
      );
    }
    res.locals.access = decided.access;
    next();
  };
}

/** The subset of `deviceIds` the request may read: one lookup of owners, only for callers restricted to their own. */
export async function filterReadable(
  res: Response,
  ownersOf: OwnershipDeps['ownersOf'] | undefined,
  deviceIds: readonly string[],
): Promise<Set<string>> {
  const access = accessOfResponse(res);
  if (access.kind !== 'owner' || !ownersOf) return new Set(access.kind === 'owner' ? [] : deviceIds);
  return readableDevices(access, deviceIds, await ownersOf(deviceIds));
}
