import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { Pool } from 'pg';
import { createLogger, waitFor } from '@warmhouse/shared';
import { readTestEndpoints } from '../../../test/stack-endpoints';
import { recordTopics } from '../../../test/support/topic-recorder';
import { createHeartbeatProbe, createMetrics, createMonitor, type AppliedPosition } from '../../src';

/**
 * The heartbeat probe through the real pipeline: the probe's row goes PostgreSQL → Debezium → Kafka, and a consumer
 * of the heartbeat topic (the test's own, serving `GET /cdc/applied` the way the services do) reports what it applied.
 */
describe('heartbeat probe against the real stack', () => {
  const endpoints = readTestEndpoints();
  const logger = createLogger('cdc-probe-itest', 'silent');
  const pool = new Pool({
    connectionString: Object.assign(new URL(endpoints.postgres.superuserUrl), { pathname: '/smart_home' }).toString(),
    max: 2,
  });
  const topic = endpoints.topics.heartbeat;
  const kafka = new Kafka({
    clientId: `probe-itest-${randomUUID()}`,
    brokers: endpoints.kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
  /** a row id of this file's own: other files' probes (if any) never move it */
  const rowId = 1000 + Math.floor(Math.random() * 1_000_000);
  let consumer: Consumer;
  let recorder: Awaited<ReturnType<typeof recordTopics>>;
  let server: Server;
  let serviceUrl: string;
  /** the consumer stops applying while true (a stalled service) */
  let stalled = false;
  let applied: AppliedPosition | undefined;

  beforeAll(async () => {
    recorder = await recordTopics(endpoints.kafka.brokers, [topic]);
    consumer = kafka.consumer({ groupId: `probe-itest-${randomUUID()}`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        await waitFor('the service to resume', () => (stalled ? undefined : true), { timeoutMs: 120_000 });
        const event = JSON.parse(message.value?.toString('utf8') ?? 'null') as {
          source?: { ts_ms: number; lsn: number };
        } | null;
        if (!event?.source) return;
        applied = {
          lsn: String(event.source.lsn),
          sourceTsMs: event.source.ts_ms,
          appliedAtMs: Date.now(),
          partition,
          offset: message.offset,
        };
      },
    });
    server = createServer((req, res) => {
      res.writeHead(req.url === '/cdc/applied' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ service: 'probe-itest', topics: applied ? { [topic]: applied } : {} }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    serviceUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    stalled = false;
    await consumer?.disconnect();
    await recorder?.stop();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await pool.query('DELETE FROM public.cdc_heartbeat WHERE id = $1', [rowId]);
    await pool.end();
  });

  /** The probe's change as Debezium published it: the row's `beat_at` is the probe transaction's start. */
  const probeEvent = (probeTsMs: number) =>
    recorder.until(`the probe row ${rowId} on ${topic}`, (all) => {
      for (const m of all) {
        const v = m.value as { after?: { id: number; beat_at: string } | null; source?: { ts_ms: number } } | null;
        if (v?.after?.id === rowId && v.source && Date.parse(v.after.beat_at) === probeTsMs) return v.source;
      }
      return undefined;
    });

  it('publishes the probe with a source commit time at or after the probe, and times the service that applies it', async () => {
    const probe = createHeartbeatProbe({
      pool,
      services: [
        { name: 'probe-itest', url: serviceUrl },
        { name: 'gone', url: 'http://127.0.0.1:9' },
      ],
      logger,
      topic,
      rowId,
      alarmSeconds: 600,
    });
    const written = await probe.probe();
    expect(written).toBeDefined();
    // the rule "applied once sourceTsMs ≥ the probe's" holds for the probe's own change as Debezium publishes it
    const source = await probeEvent(written!.sourceTsMs);
    expect(source.ts_ms).toBeGreaterThanOrEqual(written!.sourceTsMs);

    const report = await waitFor('the service to apply the probe', async () => {
      await probe.poll();
      const r = probe.report();
      return r.services[0]!.pending === 0 ? r : undefined;
    });
    expect(report.writeError).toBeNull();
    expect(report.services[0]).toMatchObject({ service: 'probe-itest', reachable: true, error: null, pending: 0 });
    expect(report.services[0]!.lastLatencyMs).not.toBeNull();
    expect(report.services[0]!.position!.sourceTsMs).toBeGreaterThanOrEqual(written!.sourceTsMs);
    expect(report.services[1]).toMatchObject({ service: 'gone', reachable: false, pending: 1, overThreshold: true });

    // Debezium's own heartbeat (row 1) is still what the monitor's heartbeat age reads
    const monitor = createMonitor({
      connectUrl: endpoints.connect.url,
      connectors: [endpoints.connectorName],
      pool,
      slots: [endpoints.slotName],
      admin: kafka.admin(),
      consumerGroups: [],
      topics: [],
      lastChanges: new Map(),
      thresholds: { walRetainedAlarmBytes: 1024 ** 3, freshnessAlarmSeconds: 600, heartbeatAlarmSeconds: 600 },
      logger,
      probe,
    });
    const snapshot = await monitor.snapshot();
    const { rows } = await pool.query<{ beat_at: Date }>('SELECT beat_at FROM public.cdc_heartbeat WHERE id = 1');
    expect(snapshot.heartbeat).toMatchObject({ ok: true, value: { lastBeatAt: rows[0]!.beat_at.toISOString() } });
    expect(snapshot.probes?.services[0]).toMatchObject({ service: 'probe-itest', pending: 0 });
    expect(snapshot.healthy).toBe(false);
    expect(snapshot.problems).toContainEqual(expect.stringMatching(/^gone unreachable: /));
    const metrics = createMetrics();
    metrics.update(snapshot);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/cdc_probe_latency_seconds\{service="probe-itest"\} \d/);
    expect(text).toContain('cdc_probe_service_reachable{service="gone"} 0');
  });

  it('keeps a probe pending while the service does not apply it, and clears it when it catches up', async () => {
    const probe = createHeartbeatProbe({
      pool,
      services: [{ name: 'probe-itest', url: serviceUrl }],
      logger,
      topic,
      rowId,
      alarmSeconds: 0,
    });
    stalled = true;
    const written = await probe.probe();
    // the probe is on the topic, yet the stalled service has not applied it
    await probeEvent(written!.sourceTsMs);
    await probe.poll();
    expect(probe.report().services[0]).toMatchObject({ reachable: true, pending: 1, overThreshold: true });
    stalled = false;
    const caughtUp = await waitFor('the service to catch up', async () => {
      await probe.poll();
      const s = probe.report().services[0]!;
      return s.pending === 0 ? s : undefined;
    });
    expect(caughtUp).toMatchObject({ pending: 0, overThreshold: false, oldestPendingSeconds: null });
    expect(caughtUp.lastLatencyMs).not.toBeNull();
  });
});
