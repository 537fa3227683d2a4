import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import type { Pool } from 'pg';
import { waitFor } from '@warmhouse/shared';
import { TEST_STATE_DIR } from '../../../../test/stack-endpoints';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');

export interface SagaJson {
  sagaId: string;
  deviceId: string;
  state: string;
  deviceStatus: string | null;
  failureReason: string | null;
  deadlineAt: string | null;
  finishedAt: string | null;
  steps: Array<{ step: string; status: string; detail: string | null; at: string }>;
}

export async function http<T = Record<string, unknown>>(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

/** Polls the saga in the database-backed API until it reaches `state` (asking as the caller `headers` name). */
export function untilSaga(
  baseUrl: string,
  sagaId: string,
  state: string,
  timeoutMs = 90_000,
  headers: Record<string, string> = {},
): Promise<SagaJson> {
  let last: SagaJson | undefined;
  return waitFor(
    `saga ${sagaId} to be ${state}`,
    async () => {
      const res = await http<SagaJson>('GET', `${baseUrl}/api/v1/devices/connect/${sagaId}`, undefined, headers);
      last = res.body;
      return res.status === 200 && res.body.state === state ? res.body : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last seen: ${JSON.stringify(last)}`);
  });
}

/** Same, straight from the database (while no device-management process runs). */
export function untilSagaRow(db: Pool, sagaId: string, state: string, timeoutMs = 90_000): Promise<true> {
  return waitFor(
    `saga ${sagaId} row to be ${state}`,
    async () => {
      const { rows } = await db.query<{ state: string }>('SELECT state FROM connect_sagas WHERE id = $1', [sagaId]);
      return rows[0]?.state === state ? true : undefined;
    },
    { timeoutMs },
  );
}

/** Every message of a topic as raw bytes (to re-publish duplicates byte for byte) and parsed JSON where it is. */
export async function recordBytes(brokers: string[], topic: string) {
  const kafka = new Kafka({ clientId: `saga-test-rec-${Date.now()}`, brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `saga-test-rec-${topic}-${Date.now()}`, maxWaitTimeInMs: 100 });
  const messages: Array<{
    key: Buffer | null;
    value: Buffer | null;
    headers: Record<string, string>;
    json: { type?: string; deviceId?: string; data?: { sagaId?: string; step?: string } } | undefined;
  }> = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
      let json;
      try {
        json = JSON.parse(message.value?.toString('utf8') ?? 'null') as (typeof messages)[number]['json'];
      } catch {
        json = undefined;
      }
      messages.push({ key: message.key, value: message.value, headers, json });
    },
  });
  return {
    messages,
    of: (sagaId: string) => messages.filter((m) => m.json?.data?.sagaId === sagaId),
    until: <T>(description: string, probe: () => T | undefined, timeoutMs = 60_000) =>
      waitFor(description, probe, { timeoutMs, intervalMs: 100 }),
    stop: () => consumer.disconnect(),
  };
}

/** Sum of the high watermarks of a topic: how many messages it holds (fresh topics, nothing deleted). */
export async function messageCount(brokers: string[], topic: string): Promise<number> {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** device-management's main.ts as its own process, so a test can kill -9 it; stopped by its pid only. */
export function spawnDeviceManagement(env: Record<string, string>, logName: string) {
  const logDir = path.join(TEST_STATE_DIR, 'logs');
  mkdirSync(logDir, { recursive: true });
  const log = createWriteStream(path.join(logDir, logName));
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', path.join('extracted', 'device-management', 'src', 'main.ts')],
    { cwd: REPO_ROOT, env: { ...process.env, ...env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let resolveUrl: (url: string) => void = () => undefined;
  const url = new Promise<string>((resolve) => (resolveUrl = resolve));
  child.stdout?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    out += chunk.toString('utf8');
    const m = /"event":"listening"[^\n]*"port":(\d+)/.exec(out);
    if (m?.[1]) resolveUrl(`http://127.0.0.1:${m[1]}`);
  });
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    url,
    exited,
    kill(signal: NodeJS.Signals) {
      if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, signal);
    },
  };
}

/**
 * Waits until a consumer group is stable with `members` members, each assigned something: every process of a
 * fleet takes part before the test sends it work (a process answers /health/ready before its consumer has joined).
 */
export async function untilGroupMembers(
  brokers: string[],
  groupId: string,
  members: number,
  timeoutMs = 90_000,
): Promise<void> {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await waitFor(
      `consumer group ${groupId} to be stable with ${members} members, each with a partition`,
      async () => {
        const { groups } = await admin.describeGroups([groupId]);
        const group = groups[0];
        const partitions = (m: { memberAssignment: Buffer }) =>
          Object.values(AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {}).flat().length;
        const assigned = group?.members.filter((m) => partitions(m) > 0).length ?? 0;
        return group?.state === 'Stable' && group.members.length === members && assigned === members ? true : undefined;
      },
      { timeoutMs, intervalMs: 250 },
    );
  } finally {
    await admin.disconnect();
  }
}

/** A saga's steps as `step:status` lines, in order. */
export const stepLine = (s: SagaJson): string[] => s.steps.map((x) => `${x.step}:${x.status}`);

const UNTIL_WATCHING = [
  'register-pending:succeeded',
  'provision:started',
  'provision:succeeded',
  'confirm-first-reading:started',
];
const DEPROVISIONED = ['deprovision:started', 'deprovision:succeeded'];

/** The steps (`stepLine`) of a connect-device saga by how it ends, each step once. */
export const SAGA_STEPS = {
  completed: [...UNTIL_WATCHING, 'confirm-first-reading:succeeded', 'activate:succeeded'],
  /** telemetry refused to provision (step 2) */
  refused: ['register-pending:succeeded', 'provision:started', 'provision:failed'],
  /** no first reading in time (step 3) */
  timedOut: [...UNTIL_WATCHING, 'confirm-first-reading:timed-out', ...DEPROVISIONED],
  /** the device was deleted before activation (step 4) */
  deleted: [...UNTIL_WATCHING, 'confirm-first-reading:succeeded', 'activate:failed', ...DEPROVISIONED],
} as const;
