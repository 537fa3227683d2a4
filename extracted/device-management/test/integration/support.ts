import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { createLogger, waitFor } from '@warmhouse/shared';
import { readTestEndpoints, type StackEndpoints } from '../../../../test/stack-endpoints';
import { loadDeviceManagementConfig, type DeviceManagementConfig } from '../../src/config';
import { prepareDeviceManagementDatabase } from '../../src/database';
import type { SettingField } from '../../src/domain/device';
import { parseDeviceEvent } from '../../src/domain/events';
import { startDeviceManagement, type RunningDeviceManagement } from '../../src/service';

export const DM_ROLE = { user: 'device_management', password: 'device-management-test' };

/** A short unique suffix for databases, topics and consumer groups of one test file. */
export const uniqueSuffix = () => randomUUID().slice(0, 8);

export const testLogger = (name: string) => createLogger(name, process.env.TEST_LOG_LEVEL ?? 'silent');

export interface TestEnvironment {
  endpoints: StackEndpoints;
  suffix: string;
  databaseUrl: string;
  /** this test file's device-management database, as the service's role */
  db: Pool;
  /** the monolith database (smart_home) as the monolith's role */
  monolith: Pool;
  /** environment for a device-management instance of this test file */
  env(overrides?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

/**
 * Own database (own name, same role), own topics and groups; nothing shared with other test files. `endpoints`:
 * another test stack's (the 3-broker one) instead of the default.
 */
export async function testEnvironment(endpoints: StackEndpoints = readTestEndpoints()): Promise<TestEnvironment> {
  const suffix = uniqueSuffix();
  const databaseUrl = await prepareDeviceManagementDatabase(endpoints.postgres.superuserUrl, DM_ROLE, {
    database: `dm_test_${suffix}`,
  });
  const db = new Pool({ connectionString: databaseUrl, max: 4 });
  const monolith = new Pool({ connectionString: endpoints.postgres.monolithUrl, max: 4 });
  return {
    endpoints,
    suffix,
    databaseUrl,
    db,
    monolith,
    env: (overrides = {}) => ({
      PORT: '0',
      DATABASE_URL: databaseUrl,
      MONOLITH_DATABASE_URL: endpoints.postgres.monolithUrl,
      KAFKA_BROKERS: endpoints.kafka.brokers.join(','),
      KAFKA_CLIENT_ID: `dm-test-${suffix}`,
      CDC_HEATING_TOPIC: endpoints.topics.heatingSystems,
      CDC_GROUP_ID: `dm-test-sync-${suffix}`,
      CDC_HEARTBEAT_TOPIC: endpoints.topics.heartbeat,
      DEVICE_EVENTS_TOPIC: `dm-test-events-${suffix}`,
      WRITE_BACK_GROUP_ID: `dm-test-write-back-${suffix}`,
      OUTBOX_POLL_MS: '200',
      SAGA_COMMANDS_TOPIC: `dm-test-saga-commands-${suffix}`,
      SAGA_REPLIES_TOPIC: `dm-test-saga-replies-${suffix}`,
      SAGA_GROUP_ID: `dm-test-saga-${suffix}`,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...overrides,
    }),
    async close() {
      await db.end();
      await monolith.end();
    },
  };
}

export async function startService(
  env: Record<string, string>,
  name = 'device-management-test',
): Promise<RunningDeviceManagement & { config: DeviceManagementConfig }> {
  const config = loadDeviceManagementConfig(env);
  const running = await startDeviceManagement(config, testLogger(name), { defaultMetrics: false });
  return { ...running, config };
}

/** A heating system written straight into the monolith database (as an installer would); returns its id. */
export async function insertHeating(
  monolith: Pool,
  row: { on?: boolean; target?: number; current?: number } = {},
): Promise<number> {
  const { rows } = await monolith.query<{ id: string }>(
    'INSERT INTO heating_systems (is_on, target_temperature, current_temperature) VALUES ($1, $2, $3) RETURNING id',
    [row.on ?? false, row.target ?? 20, row.current ?? 18],
  );
  return Number(rows[0]?.id);
}

export interface LegacyDeviceRow {
  legacy_id: string;
  status: string;
  is_on: boolean;
  target_temperature: number;
  current_temperature: number;
  cdc_position: string;
}

export async function legacyDevice(db: Pool, legacyId: number): Promise<LegacyDeviceRow | undefined> {
  const { rows } = await db.query<LegacyDeviceRow>(
    `SELECT legacy_id, status, is_on, target_temperature, current_temperature, cdc_position::text
     FROM devices WHERE legacy_id = $1`,
    [legacyId],
  );
  return rows[0];
}

/** Waits until the device of a monolith row satisfies `predicate`. */
export function untilDevice(
  db: Pool,
  legacyId: number,
  description: string,
  predicate: (row: LegacyDeviceRow | undefined) => boolean,
  timeoutMs = 90_000, // a fresh consumer group joins and replays the topic first; slow on a loaded 2-core machine
): Promise<LegacyDeviceRow | undefined> {
  return waitFor(
    `device of heating system ${legacyId}: ${description}`,
    async () => {
      const row = await legacyDevice(db, legacyId);
      return predicate(row) ? (row ?? null) : undefined;
    },
    { timeoutMs },
  ).then((r) => r ?? undefined);
}

export async function count(db: Pool, sql: string, values: unknown[] = []): Promise<number> {
  const { rows } = await db.query<{ n: string }>(sql, values);
  return Number(rows[0]?.n ?? 0);
}

/** Every heating system of the monolith and every live legacy device here, as comparable lines, in id order. */
export async function bothSides(db: Pool, monolith: Pool): Promise<{ monolith: string[]; devices: string[] }> {
  const line = (r: { id: string; is_on: boolean; target_temperature: number; current_temperature: number }) =>
    `${r.id} on=${r.is_on} target=${r.target_temperature} current=${r.current_temperature}`;
  const m = await monolith.query(
    'SELECT id::text AS id, is_on, target_temperature, current_temperature FROM heating_systems h ORDER BY h.id',
  );
  const d = await db.query(
    `SELECT legacy_id::text AS id, is_on, target_temperature, current_temperature FROM devices
     WHERE origin = 'monolith' AND status <> 'deleted' ORDER BY devices.legacy_id`,
  );
  return { monolith: m.rows.map(line), devices: d.rows.map(line) };
}

/** Waits until device management holds exactly the monolith's heating systems, row for row. */
export async function untilConverged(db: Pool, monolith: Pool, timeoutMs = 60_000): Promise<string[]> {
  let last: { monolith: string[]; devices: string[] } | undefined;
  try {
    return await waitFor(
      'device management to equal the monolith row for row',
      async () => {
        last = await bothSides(db, monolith);
        return JSON.stringify(last.monolith) === JSON.stringify(last.devices) ? last.devices : undefined;
      },
      { timeoutMs, intervalMs: 250 },
    );
  } catch (err) {
    const onlyM = last?.monolith.filter((l) => !last?.devices.includes(l)) ?? [];
    const onlyD = last?.devices.filter((l) => !last?.monolith.includes(l)) ?? [];
    throw new Error(
      `${(err as Error).message}\nonly in the monolith: ${onlyM.join('; ')}\nonly here: ${onlyD.join('; ')}`,
    );
  }
}

/**
 * Records a topic's messages as text (our keys are plain device ids and dead letters are not JSON, which
 * test/support/topic-recorder.ts cannot read). Own group, from the beginning.
 */
export async function recordRaw(brokers: string[], topic: string) {
  const kafka = new Kafka({ clientId: `dm-test-raw-${uniqueSuffix()}`, brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `dm-test-raw-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const messages: Array<{
    partition: number;
    offset: string;
    key: string | null;
    value: string;
    headers: Record<string, string>;
  }> = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
      messages.push({
        partition,
        offset: message.offset,
        key: message.key?.toString('utf8') ?? null,
        value: message.value?.toString('utf8') ?? '',
        headers,
      });
    },
  });
  return { messages, stop: () => consumer.disconnect() };
}

/**
 * The value of one setting in the last settings change of a device, among a topic's messages (`recordRaw`, in topic
 * order; one device's events share a partition) that changed it; undefined when none did.
 */
export function lastSettingOnTopic(
  messages: ReadonlyArray<{ value: string }>,
  deviceId: string,
  field: SettingField,
): boolean | number | string | null | undefined {
  let last: boolean | number | string | null | undefined;
  for (const m of messages) {
    const e = parseDeviceEvent(m.value);
    if (e.type === 'device.settings-changed' && e.deviceId === deviceId && e.data.changed.includes(field))
      last = e.data.settings[field];
  }
  return last;
}
