import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createLogger, waitFor } from '@warmhouse/shared';
import { Pool } from 'pg';
import { readTestEndpoints, type StackEndpoints } from '../../../../test/stack-endpoints';
import { loadTelemetryConfig, type TelemetryConfig } from '../../src/config';
import { prepareTelemetryDatabase } from '../../src/database';
import { startTelemetry, type RunningTelemetry } from '../../src/service';

export const TELEMETRY_ROLE = { user: 'telemetry', password: 'telemetry-test' };

export const uniqueSuffix = () => randomUUID().slice(0, 8);
export const testLogger = (name: string) => createLogger(name, process.env.TEST_LOG_LEVEL ?? 'silent');

/** Own database, command topic and consumer groups per test file; nothing shared with other files. */
export interface TestEnvironment {
  endpoints: StackEndpoints;
  suffix: string;
  databaseUrl: string;
  /** this file's telemetry database, as the service's role */
  db: Pool;
  /** environment of a telemetry process of this file */
  env(overrides?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

/** `endpoints`: another test stack's (the 3-broker one) instead of the default. */
export async function testEnvironment(endpoints: StackEndpoints = readTestEndpoints()): Promise<TestEnvironment> {
  const suffix = uniqueSuffix();
  const databaseUrl = await prepareTelemetryDatabase(endpoints.postgres.superuserUrl, {
    ...TELEMETRY_ROLE,
    database: `telemetry_test_${suffix}`,
  });
  const db = new Pool({ connectionString: databaseUrl, max: 4 });
  return {
    endpoints,
    suffix,
    databaseUrl,
    db,
    env: (overrides = {}) => ({
      PORT: '0',
      DATABASE_URL: databaseUrl,
      DATABASE_MIGRATE: 'false',
      KAFKA_BROKERS: endpoints.kafka.brokers.join(','),
      KAFKA_CLIENT_ID: `telemetry-test-${suffix}`,
      TELEMETRY_COMMAND_TOPIC: `telemetry-test-${suffix}.readings`,
      TELEMETRY_COMMAND_PARTITIONS: '3',
      TELEMETRY_PROJECTOR_GROUP: `telemetry-test-${suffix}.projector`,
      TELEMETRY_CDC_GROUP: `telemetry-test-${suffix}.cdc`,
      CDC_HEATING_TOPIC: endpoints.topics.heatingSystems,
      CDC_SENSORS_TOPIC: endpoints.topics.temperatureSensors,
      TELEMETRY_CDC_DEAD_LETTER_TOPIC: `telemetry-test-${suffix}.cdc.dlq`,
      TELEMETRY_SAGA_COMMANDS_TOPIC: `telemetry-test-${suffix}.saga-commands`,
      TELEMETRY_SAGA_REPLIES_TOPIC: `telemetry-test-${suffix}.saga-replies`,
      TELEMETRY_SAGA_GROUP: `telemetry-test-${suffix}.saga`,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...overrides,
    }),
    close: () => db.end(),
  };
}

export async function startService(
  env: Record<string, string>,
  name = 'telemetry-test',
): Promise<RunningTelemetry & { config: TelemetryConfig; url: string }> {
  const config = loadTelemetryConfig(env);
  const running = await startTelemetry(config, testLogger(name));
  return { ...running, config, url: running.url ?? '' };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

export async function getJson<T = Record<string, unknown>>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

/** Waits until the read models have applied every record of the command topic (stored offsets = high watermarks). */
export async function waitForProjection(
  db: Pool,
  endpoints: StackEndpoints,
  topic: string,
  timeoutMs = 60_000,
  schema = 'read_model',
): Promise<void> {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({ brokers: endpoints.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await waitFor(
      `projection of ${topic} to catch up`,
      async () => {
        const high = await admin.fetchTopicOffsets(topic);
        const { rows } = await db.query<{ partition: number; next_offset: string }>(
          `SELECT partition, next_offset FROM ${schema}.projection_offsets WHERE topic = $1`,
          [topic],
        );
        const applied = new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
        return high.every((p) => BigInt(p.high) === BigInt(p.low) || applied.get(p.partition) === BigInt(p.high))
          ? true
          : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
  } finally {
    await admin.disconnect();
  }
}

/** Records raw messages (value as text, headers as text) of a topic, e.g. a dead-letter topic holding non-JSON. */
export async function recordRaw(brokers: string[], topic: string) {
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({ clientId: `telemetry-test-raw-${uniqueSuffix()}`, brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `telemetry-test-raw-${uniqueSuffix()}`, maxWaitTimeInMs: 100 });
  const messages: Array<{ key: string | null; value: string | null; headers: Record<string, string> }> = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
      messages.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers });
    },
  });
  return {
    messages,
    until: <T>(description: string, probe: (all: typeof messages) => T | undefined, timeoutMs = 60_000) =>
      waitFor(description, () => probe(messages), { timeoutMs, intervalMs: 100 }),
    stop: () => consumer.disconnect(),
  };
}

/** A telemetry entry point running as its own OS process (so a test can kill -9 it); stopped by its pid only. */
export interface ChildProcessHandle {
  pid: number;
  /** the `telemetry_started` url, once it logged it */
  url: Promise<string>;
  exited: Promise<number | null>;
  output(): string;
  kill(signal: NodeJS.Signals): void;
}

export function spawnEntry(
  entry: 'main' | 'rebuild-main',
  env: Record<string, string>,
  args: string[] = [],
): ChildProcessHandle {
  const script = path.resolve(__dirname, '..', '..', 'src', `${entry}.ts`);
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    env: { ...process.env, ...env, LOG_LEVEL: env.LOG_LEVEL === 'silent' ? 'info' : (env.LOG_LEVEL ?? 'info') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let resolveUrl: (url: string) => void = () => undefined;
  const url = new Promise<string>((resolve) => (resolveUrl = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    const m = /"event":"telemetry_started"[^\n]*"url":"([^"]+)"/.exec(out);
    if (m?.[1]) resolveUrl(m[1]);
  });
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    pid: child.pid!,
    url,
    exited,
    output: () => out,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal);
    },
  };
}

/** Posts batches of readings until stopped; returns every reading it got a 202 for. */
export function ingestLoop(url: string, makeBatch: (n: number) => Array<Record<string, unknown>>) {
  let running = true;
  const accepted: Array<Record<string, unknown>> = [];
  let batches = 0;
  const done = (async () => {
    while (running) {
      const batch = makeBatch(batches++);
      const res = await fetch(`${url}/api/v1/telemetry`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ readings: batch }),
      });
      if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer().catch(() => undefined);
      accepted.push(...batch);
    }
  })();
  return {
    accepted,
    batches: () => batches,
    stop: async () => {
      running = false;
      await done;
      return accepted;
    },
  };
}
