import type { Pool } from 'pg';
import { withTransaction, type Queryable } from '@warmhouse/shared';
import { devicesRepository, type ListFilter, type NewDevice } from './data/devices-repository';
import { outboxRepository, writeBackRepository } from './data/outbox-repository';
import { applySettings, unsupportedSettings, type Device, type SettingField } from './domain/device';
import { deviceDeleted, deviceRegistered, deviceSettingsChanged } from './domain/events';
import { deviceError } from './errors';
import { ANYONE, mayAccess, type Access } from '@warmhouse/messaging';

/** Per-request options of a change. */
export interface ChangeContext {
  /** `X-Strangler-Dry-Run: 1`: everything runs, then the transaction is rolled back */
  dryRun?: boolean;
  requestId?: string | null;
  /** who may change what (ownership); default: anyone, as the legacy routes */
  access?: Access;
}

export type DeviceRef = { id: string } | { legacyId: bigint };
export type SettingsPatch = Partial<Record<SettingField, boolean | number>>;

export interface DevicePage {
  items: Device[];
  /** seq of the last item when there are more, else null */
  nextAfterSeq: string | null;
}

/**
 * Use cases of device management. Every change commits the device row, its domain event (outbox) and, for a
 * device that came from the monolith, its write-back record in one transaction.
 */
export function createDevicesService({ pool }: { pool: Pool }) {
  const find = (db: Queryable, ref: DeviceRef, forUpdate: boolean) =>
    'id' in ref
      ? devicesRepository.findById(db, ref.id, { forUpdate })
      : devicesRepository.findByLegacyId(db, ref.legacyId, { forUpdate });

  /** A live device `access` may touch: another caller's device is as unknown as a missing one (404, not 403). */
  const live = (d: Device | undefined, access: Access = ANYONE) =>
    d && d.status !== 'deleted' && mayAccess(access, d.ownerId) ? d : undefined;

  return {
    /** A live device `access` may see, or undefined (unknown, deleted or another caller's). */
    async find(ref: DeviceRef, access: Access = ANYONE): Promise<Device | undefined> {
      return live(await find(pool, ref, false), access);
    },

    async list(filter: ListFilter): Promise<DevicePage> {
      const rows = await devicesRepository.list(pool, filter);
      const items = rows.slice(0, filter.limit);
      const more = rows.length > filter.limit;
      return { items, nextAfterSeq: more ? (items[items.length - 1]?.seq ?? null) : null };
    },

    async register(input: NewDevice, ctx: ChangeContext = {}): Promise<Device> {
      return withTransaction(
        pool,
        async (tx) => {
          const device = await devicesRepository.insert(tx, input);
          await outboxRepository.add(
            tx,
            deviceRegistered(device, { origin: 'device-management', requestId: ctx.requestId }),
          );
          return device;
        },
        { dryRun: ctx.dryRun },
      );
    },

    /**
     * Changes settings; undefined when the device does not exist (or is deleted). A change that changes nothing
     * writes nothing and emits nothing, as the monolith's save-if-changed does.
     */
    async changeSettings(ref: DeviceRef, patch: SettingsPatch, ctx: ChangeContext = {}): Promise<Device | undefined> {
      return withTransaction(
        pool,
        async (tx) => {
          const current = live(await find(tx, ref, true), ctx.access);
          if (!current) return undefined;
          const unsupported = unsupportedSettings(current.type, patch);
          if (unsupported.length > 0) {
            throw deviceError(
              'DEVICE_ERR_UNSUPPORTED_FOR_TYPE',
              `a ${current.type} device has no setting ${unsupported.join(', ')}`,
              {
                fields: unsupported.map((f) => ({ in: 'body', field: f, message: `not a setting of ${current.type}` })),
              },
            );
          }
          const { next, changed } = applySettings(current.settings, patch);
          if (changed.length === 0) return current;
          const device = await devicesRepository.updateSettings(tx, current.id, next);
          const event = deviceSettingsChanged(device, current.settings, changed, {
            origin: 'device-management',
            requestId: ctx.requestId,
          });
          await outboxRepository.add(tx, event);
          if (device.legacyId !== null) {
            await writeBackRepository.add(tx, {
              eventId: event.eventId,
              deviceId: device.id,
              legacyId: device.legacyId,
              deviceVersion: device.version,
              fields: changed,
              settings: device.settings,
            });
          }
          return device;
        },
        { dryRun: ctx.dryRun },
      );
    },

    /** Soft delete; undefined when there is no such live device. */
    async delete(ref: DeviceRef, ctx: ChangeContext = {}): Promise<Device | undefined> {
      return withTransaction(
        pool,
        async (tx) => {
          const current = live(await find(tx, ref, true), ctx.access);
          if (!current) return undefined;
          if (current.origin === 'monolith') {
            throw deviceError(
              'DEVICE_ERR_OWNED_BY_MONOLITH',
              'this heating system came from the monolith, which owns its existence until the migration moves it; it cannot be deleted here',
            );
          }
          const device = await devicesRepository.softDelete(tx, current.id);
          await outboxRepository.add(
            tx,
            deviceDeleted(device, { origin: 'device-management', requestId: ctx.requestId }),
          );
          return device;
        },
        { dryRun: ctx.dryRun },
      );
    },
  };
}

export type DevicesService = ReturnType<typeof createDevicesService>;
