import type { Device } from '../domain/device';

const finiteOrNull = (n: number | null) => (n === null || !Number.isFinite(n) ? null : n);

/** A device as the new API shows it (schema `Device` in openapi.yaml). */
export function deviceJson(d: Device) {
  return {
    id: d.id,
    type: d.type,
    name: d.name,
    houseId: d.houseId,
    ownerId: d.ownerId,
    status: d.status,
    settings: { on: d.settings.on, targetTemperature: finiteOrNull(d.settings.targetTemperature) },
    currentTemperature: finiteOrNull(d.currentTemperature),
    origin: d.origin,
    legacyId: d.legacyId === null ? null : d.legacyId.toString(),
    version: d.version,
    sync:
      d.cdcPosition !== null && d.cdcSyncedAt !== null
        ? { position: d.cdcPosition, syncedAt: d.cdcSyncedAt.toISOString() }
        : null,
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
    deletedAt: d.deletedAt === null ? null : d.deletedAt.toISOString(),
    failureReason: d.failureReason,
  };
}

/** Opaque page cursor: the registration sequence number of the last device shown, base64url. */
export const encodeCursor = (seq: string): string => Buffer.from(seq, 'utf8').toString('base64url');

export function decodeCursor(cursor: string): string | undefined {
  const seq = Buffer.from(cursor, 'base64url').toString('utf8');
  return /^\d{1,19}$/.test(seq) ? seq : undefined;
}
