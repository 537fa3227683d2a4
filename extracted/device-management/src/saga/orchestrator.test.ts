import type { ConnectSagaReply } from '@warmhouse/messaging';
import type { Pool } from 'pg';
import pino from 'pino';
import type { Queryable } from '@warmhouse/shared';
import { devicesRepository } from '../data/devices-repository';
import { outboxRepository } from '../data/outbox-repository';
import type { Device } from '../domain/device';
import { parseDeviceEvent, type DeviceEvent } from '../domain/events';
import { createMetrics } from '../metrics';
import type { ConnectSaga } from './connect-saga';
import { createOrchestrator } from './orchestrator';
import { sagaRepository, type StoredSaga } from './saga-repository';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const SAGA = '11111111-1111-4111-8111-111111111111';
const DEVICE = '22222222-2222-4222-8222-222222222222';

const pendingDevice: Device = {
  id: DEVICE,
  seq: '1',
  type: 'temperature_sensor',
  name: 'Hall sensor',
  houseId: 'house-1',
  ownerId: null,
  status: 'pending',
  settings: { on: null, targetTemperature: null },
  currentTemperature: null,
  origin: 'device-management',
  legacyId: null,
  version: 1,
  cdcPosition: null,
  cdcSyncedAt: null,
  createdAt: T0,
  updatedAt: T0,
  deletedAt: null,
  failureReason: null,
};

const sagaIn = (state: ConnectSaga['state'], failureReason: string | null = null): StoredSaga => ({
  id: SAGA,
  deviceId: DEVICE,
  deviceType: 'temperature_sensor',
  state,
  retentionDays: 30,
  firstReadingWithinSeconds: 60,
  deadlineAt: new Date(T0.getTime() + 60_000),
  failureReason,
  compensationAttempts: state === 'compensating' ? 1 : 0,
  requestId: 'req-1',
  createdAt: T0,
  updatedAt: T0,
  finishedAt: null,
});

const reply = (type: string, data: Record<string, unknown>) =>
  ({
    eventId: '44444444-4444-4444-8444-444444444444',
    type,
    schemaVersion: 1,
    occurredAt: T0.toISOString(),
    requestId: null,
    source: 'telemetry',
    data: { sagaId: SAGA, deviceId: DEVICE, ...data },
  }) as ConnectSagaReply;

const replies = {
  firstReading: reply('connect-device.first-reading-received', {
    step: 'confirm-first-reading',
    measuredAt: T0.toISOString(),
  }),
  refused: reply('connect-device.telemetry-provisioning-failed', { step: 'provision', reason: 'retention too long' }),
  deprovisioned: reply('connect-device.telemetry-deprovisioned', { step: 'deprovision', wasProvisioned: true }),
};

/**
 * The orchestrator's shell against in-memory repositories: what it writes, in which transaction. The SQL of the
 * repositories is covered by the integration tests (connect-saga.itest.ts).
 */
function harness(saga: StoredSaga, device: Device | undefined) {
  const journal: string[] = [];
  let current = device;
  let txCount = 0;
  const events: Array<{ tx: Queryable; event: DeviceEvent }> = [];
  const outcomes: Array<{ tx: Queryable }> = [];
  const pool = {
    connect: async () => {
      const tx = { n: ++txCount } as unknown as Queryable;
      return Object.assign(tx, {
        query: async (sql: string) => {
          journal.push(`tx${txCount} ${sql}`);
          return { rows: [], rowCount: 0 };
        },
        release: () => undefined,
      });
    },
  } as unknown as Pool;

  jest.spyOn(sagaRepository, 'find').mockImplementation(async () => saga);
  jest.spyOn(sagaRepository, 'update').mockImplementation(async () => undefined);
  jest.spyOn(sagaRepository, 'logSteps').mockImplementation(async () => undefined);
  jest.spyOn(devicesRepository, 'findById').mockImplementation(async () => current);
  jest.spyOn(devicesRepository, 'setConnectOutcome').mockImplementation(async (tx, _id, status, reason) => {
    outcomes.push({ tx });
    journal.push(`setConnectOutcome ${status}`);
    if (!current) return undefined;
    current = { ...current, status, failureReason: reason, version: current.version + 1 };
    return current;
  });
  jest.spyOn(outboxRepository, 'add').mockImplementation(async (tx, event) => {
    events.push({ tx, event });
    journal.push(`event ${event.type}`);
  });
  jest.spyOn(outboxRepository, 'addMessage').mockImplementation(async (_tx, m) => {
    journal.push(`command ${m.message.type}`);
  });

  const orchestrator = createOrchestrator({
    pool,
    logger: pino({ level: 'silent' }),
    metrics: createMetrics(),
    commandsTopic: 'commands',
    replyTimeoutMs: 30_000,
    now: () => new Date(T0.getTime() + 1_000),
  });
  return { orchestrator, journal, events, outcomes };
}

describe('connect-saga orchestrator: device.status-changed', () => {
  afterEach(() => jest.restoreAllMocks());

  it('activation: pending → active, written in the transaction of the status change, before it commits', async () => {
    const h = harness(sagaIn('awaiting_first_reading'), pendingDevice);
    await h.orchestrator.handleReply(replies.firstReading);

    expect(h.events).toHaveLength(1);
    const [{ tx, event }] = h.events as [{ tx: Queryable; event: DeviceEvent }];
    expect(tx).toBe(h.outcomes[0]?.tx);
    expect(h.journal).toEqual(['tx1 BEGIN', 'setConnectOutcome active', 'event device.status-changed', 'tx1 COMMIT']);
    expect(event).toMatchObject({
      type: 'device.status-changed',
      source: 'device-management',
      origin: 'device-management',
      requestId: 'req-1',
      occurredAt: '2026-01-01T00:00:01.000Z',
      deviceId: DEVICE,
      deviceVersion: 2,
      legacyId: null,
      data: { status: 'active', previous: 'pending', failureReason: null },
    });
    // what the relay publishes is a device event of the topic's schema
    expect(parseDeviceEvent(JSON.stringify(event))).toEqual(event);
  });

  it('refusal: pending → failed with the reason', async () => {
    const h = harness(sagaIn('provisioning'), pendingDevice);
    await h.orchestrator.handleReply(replies.refused);

    expect(h.events.map((e) => e.event.data)).toEqual([
      { status: 'failed', previous: 'pending', failureReason: 'telemetry refused to provision: retention too long' },
    ]);
    expect(h.journal).toEqual(['tx1 BEGIN', 'setConnectOutcome failed', 'event device.status-changed', 'tx1 COMMIT']);
  });

  it('compensation done: pending → failed with the reason the saga compensated for', async () => {
    const h = harness(sagaIn('compensating', 'no first reading within 60 s'), pendingDevice);
    await h.orchestrator.handleReply(replies.deprovisioned);

    expect(h.events.map((e) => e.event.data)).toEqual([
      { status: 'failed', previous: 'pending', failureReason: 'no first reading within 60 s' },
    ]);
  });

  it('no event when the device status does not change (a device deleted meanwhile stays deleted)', async () => {
    const h = harness(sagaIn('compensating', 'the device could not be activated: it is deleted'), {
      ...pendingDevice,
      status: 'deleted',
    });
    await h.orchestrator.handleReply(replies.deprovisioned);

    expect(h.journal).toEqual(['tx1 BEGIN', 'tx1 COMMIT']);
    expect(h.events).toEqual([]);
  });

  it('no event for a transition that does not touch the device, nor for an ignored (duplicate) reply', async () => {
    const h = harness(sagaIn('provisioning'), pendingDevice);
    await h.orchestrator.handleReply(
      reply('connect-device.telemetry-provisioned', { step: 'provision', metrics: ['temperature'], retentionDays: 30 }),
    );
    expect(h.journal).toEqual(['tx1 BEGIN', 'command connect-device.confirm-first-reading', 'tx1 COMMIT']);

    const done = harness(sagaIn('completed'), { ...pendingDevice, status: 'active' });
    await done.orchestrator.handleReply(replies.firstReading);
    expect(done.events).toEqual([]);
  });

  it('a failing event write fails the whole transition (rolled back, nothing half-done)', async () => {
    const h = harness(sagaIn('awaiting_first_reading'), pendingDevice);
    jest.spyOn(outboxRepository, 'add').mockRejectedValue(new Error('outbox full'));
    await expect(h.orchestrator.handleReply(replies.firstReading)).rejects.toThrow('outbox full');
    expect(h.journal).toEqual(['tx1 BEGIN', 'setConnectOutcome active', 'tx1 ROLLBACK']);
  });
});
