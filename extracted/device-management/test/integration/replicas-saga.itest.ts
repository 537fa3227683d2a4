import { loadavg } from 'node:os';
import { testEnvironment as telemetryEnvironment } from '../../../telemetry/test/integration/support';
import {
  logEvents,
  scrapeMetrics,
  startServiceProcesses,
  stopFleet,
  sumCounter,
  type ServiceProcess,
} from '../../../../test/support/service-processes';
import { testEnvironment, type TestEnvironment } from './support';
import { http, recordBytes, SAGA_STEPS, stepLine, untilGroupMembers, untilSaga, type SagaJson } from './saga-support';

const SAGAS = 40;
/** sagas driven at once */
const CONCURRENCY = 10;
const TIMEOUT_S = 3;

type Outcome = 'complete' | 'refused' | 'timeout' | 'deleted';
const OUTCOMES: readonly Outcome[] = ['complete', 'refused', 'timeout', 'deleted'];

/** How each outcome must end: saga state, device status, failure reason, steps, telemetry's row and commands. */
const EXPECTED: Record<
  Outcome,
  {
    state: string;
    deviceStatus: string;
    failureReason: string | null;
    steps: readonly string[];
    provisioning: string | undefined;
    /** commands telemetry handles */
    commands: number;
    /** saga inputs the orchestrator applies (replies and timeouts) */
    inputs: number;
    statusEvents: number;
  }
> = {
  complete: {
    state: 'completed',
    deviceStatus: 'active',
    failureReason: null,
    steps: SAGA_STEPS.completed,
    provisioning: 'provisioned',
    commands: 2,
    inputs: 2, // provisioned, first reading
    statusEvents: 1,
  },
  refused: {
    state: 'failed',
    deviceStatus: 'failed',
    failureReason: 'telemetry refused to provision: retention of 400 days exceeds the 365 days telemetry keeps',
    steps: SAGA_STEPS.refused,
    provisioning: undefined,
    commands: 1,
    inputs: 1, // refused
    statusEvents: 1,
  },
  timeout: {
    state: 'failed',
    deviceStatus: 'failed',
    failureReason: `no first reading within ${TIMEOUT_S} s`,
    steps: SAGA_STEPS.timedOut,
    provisioning: 'deprovisioned',
    commands: 3,
    inputs: 3, // provisioned, timeout, deprovisioned
    statusEvents: 1,
  },
  deleted: {
    state: 'failed',
    deviceStatus: 'deleted',
    failureReason: 'the device could not be activated: it is deleted',
    steps: SAGA_STEPS.deleted,
    provisioning: 'deprovisioned',
    // the device was deleted, not failed by the saga: no status change
    commands: 3,
    inputs: 3, // provisioned, first reading, deprovisioned
    statusEvents: 0,
  },
};

/**
 * The connect-device saga with 2 device-management (orchestrator) and 2 telemetry (participant) processes, as the
 * chart runs them: 40 sagas at once, 10 of each outcome (completed, refused by telemetry, no first reading in time,
 * device deleted before activation), each started, read, deleted and fed its first reading through alternating
 * replicas. Every saga ends in its state exactly once (one terminal transition, one status event, one telemetry row,
 * each command handled once) and both replicas of each service did part of the work.
 */
describe('connect-device saga at 2 + 2 replicas', () => {
  let dm: TestEnvironment;
  let tm: Awaited<ReturnType<typeof telemetryEnvironment>>;
  let dms: ServiceProcess[] = [];
  let tels: ServiceProcess[] = [];
  let events: Awaited<ReturnType<typeof recordBytes>> | undefined;

  beforeAll(async () => {
    dm = await testEnvironment();
    tm = await telemetryEnvironment();
    const topics = { commands: `saga-replicas-${dm.suffix}.commands`, replies: `saga-replicas-${dm.suffix}.replies` };
    const groups = {
      orchestrator: `saga-replicas-${dm.suffix}.orchestrator`,
      telemetry: `saga-replicas-${dm.suffix}.tm`,
    };
    [dms, tels] = await Promise.all([
      startServiceProcesses({
        service: 'device-management',
        count: 2,
        prefix: `dm-saga-${dm.suffix}`,
        env: () =>
          dm.env({
            CDC_SYNC_ENABLED: 'false',
            WRITE_BACK_ENABLED: 'false',
            SAGA_COMMANDS_TOPIC: topics.commands,
            SAGA_REPLIES_TOPIC: topics.replies,
            SAGA_GROUP_ID: groups.orchestrator,
            SAGA_REPLY_TIMEOUT_MS: '60000',
            SAGA_TIMER_MS: '200',
            OUTBOX_POLL_MS: '100',
          }),
      }),
      startServiceProcesses({
        service: 'telemetry',
        count: 2,
        prefix: `tel-saga-${tm.suffix}`,
        env: () =>
          tm.env({
            TELEMETRY_ROLES: 'api,projector,saga',
            TELEMETRY_SAGA_COMMANDS_TOPIC: topics.commands,
            TELEMETRY_SAGA_REPLIES_TOPIC: topics.replies,
            TELEMETRY_SAGA_GROUP: groups.telemetry,
            TELEMETRY_MAX_RETENTION_DAYS: '365',
            TELEMETRY_FIRST_READING_POLL_MS: '200',
          }),
      }),
    ]);
    const brokers = dm.endpoints.kafka.brokers;
    // both replicas of each service consume their saga topic (auto-created with 3 partitions) before any saga starts
    await Promise.all([
      untilGroupMembers(brokers, groups.orchestrator, 2),
      untilGroupMembers(brokers, groups.telemetry, 2),
    ]);
    events = await recordBytes(brokers, dm.env().DEVICE_EVENTS_TOPIC!);
  }, 240_000);
  afterAll(() => stopFleet({ recorders: [events], processes: [...dms, ...tels], environments: [dm, tm] }));

  /** Drives saga `i` to its end through alternating replicas; returns what it ended as. */
  const drive = async (i: number) => {
    const outcome = OUTCOMES[i % OUTCOMES.length]!;
    // started through one device-management replica, read and changed through the other
    const [starter, other] = i % 2 === 0 ? [dms[0]!, dms[1]!] : [dms[1]!, dms[0]!];
    const telemetry = tels[Math.floor(i / 2) % 2]!;
    const body = {
      type: 'temperature_sensor',
      name: `Sensor ${i}`,
      houseId: `house-${dm.suffix}`,
      ...(outcome === 'refused' ? { retentionDays: 400 } : {}),
      firstReadingWithinSeconds: outcome === 'timeout' ? TIMEOUT_S : 300,
    };
    const started = await http<SagaJson>('POST', `${starter.url}/api/v1/devices/connect`, body);
    expect(started.status).toBe(202);
    const { sagaId, deviceId } = started.body;
    if (outcome === 'complete' || outcome === 'deleted') {
      await untilSaga(other.url, sagaId, 'awaiting_first_reading', 120_000);
      if (outcome === 'deleted')
        expect((await http('DELETE', `${other.url}/api/v1/devices/${deviceId}`)).status).toBe(204);
      const reading = {
        deviceId,
        metric: 'temperature',
        value: 20.5,
        unit: 'Cel',
        measuredAt: new Date().toISOString(),
      };
      expect((await http('POST', `${telemetry.url}/api/v1/telemetry`, reading)).status).toBe(202);
    }
    const ended = await untilSaga(other.url, sagaId, EXPECTED[outcome].state, 120_000);
    return { i, outcome, sagaId, deviceId, ended };
  };

  it(`ends ${SAGAS} concurrent sagas each in its right state exactly once, with the work spread over both replicas`, async () => {
    const started = Date.now();
    const results: Array<Awaited<ReturnType<typeof drive>>> = [];
    let next = 0;
    const worker = async () => {
      while (next < SAGAS) results.push(await drive(next++));
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const drivenMs = Date.now() - started;
    results.sort((x, y) => x.i - y.i);

    // each saga as its outcome must end
    for (const r of results) {
      const want = EXPECTED[r.outcome];
      expect({ i: r.i, outcome: r.outcome, ...r.ended, steps: stepLine(r.ended) }).toMatchObject({
        i: r.i,
        outcome: r.outcome,
        state: want.state,
        deviceStatus: want.deviceStatus,
        failureReason: want.failureReason,
        steps: want.steps,
      });
    }

    // no side effect twice: one telemetry row and one handled command per step, one status event per device
    const provisioning = await tm.db.query<{ device_id: string; status: string }>(
      'SELECT device_id, status FROM provisioning.devices WHERE device_id = ANY($1::text[])',
      [results.map((r) => r.deviceId)],
    );
    const perKey = async (db: typeof dm.db, sql: string) =>
      new Map((await db.query<{ k: string; n: string }>(sql)).rows.map((row) => [row.k, Number(row.n)]));
    const handled = await perKey(
      tm.db,
      'SELECT saga_id::text AS k, count(*) AS n FROM provisioning.handled_commands GROUP BY saga_id',
    );
    const statusInOutbox = await perKey(
      dm.db,
      `SELECT aggregate_id::text AS k, count(*) AS n FROM outbox
       WHERE event_type = 'device.status-changed' AND topic IS NULL GROUP BY aggregate_id`,
    );
    const statusTotal = results.reduce((n, r) => n + EXPECTED[r.outcome].statusEvents, 0);
    const statusOnTopic = await events!.until('every status change on the events topic', () => {
      const ids = new Map<string, Set<string>>();
      for (const m of events!.messages) {
        const e = m.json as { type?: string; deviceId?: string; eventId?: string } | undefined;
        if (e?.type === 'device.status-changed' && e.deviceId && e.eventId)
          ids.set(e.deviceId, (ids.get(e.deviceId) ?? new Set()).add(e.eventId));
      }
      return [...ids.values()].reduce((n, set) => n + set.size, 0) >= statusTotal ? ids : undefined;
    });
    for (const r of results) {
      const want = EXPECTED[r.outcome];
      expect({
        i: r.i,
        provisioning: provisioning.rows.filter((p) => p.device_id === r.deviceId).map((p) => p.status),
        commandsHandled: handled.get(r.sagaId) ?? 0,
        statusEventsInOutbox: statusInOutbox.get(r.deviceId) ?? 0,
        statusEventsOnTopic: statusOnTopic.get(r.deviceId)?.size ?? 0,
      }).toEqual({
        i: r.i,
        provisioning: want.provisioning === undefined ? [] : [want.provisioning],
        commandsHandled: want.commands,
        statusEventsInOutbox: want.statusEvents,
        statusEventsOnTopic: want.statusEvents,
      });
    }

    // one terminal transition per saga over the whole fleet, and both orchestrators applied saga inputs
    const dmMetrics = await Promise.all(dms.map(scrapeMetrics));
    const finished = (state: string) =>
      dmMetrics.reduce(
        (n, t) => n + sumCounter(t, 'device_management_connect_sagas_finished_total', `state="${state}"`),
        0,
      );
    expect({ completed: finished('completed'), failed: finished('failed') }).toEqual({
      completed: SAGAS / 4,
      failed: (SAGAS * 3) / 4,
    });
    const applied = dmMetrics.map((t) =>
      sumCounter(t, 'device_management_connect_saga_transitions_total', 'result="applied"'),
    );
    // both telemetry replicas handled saga commands (each command once over the fleet)
    const telemetryHandled = tels.map((p) => logEvents(p, 'saga_command_handled').filter((e) => e.duplicate === false));
    const commands = results.reduce((n, r) => n + EXPECTED[r.outcome].commands, 0);
    console.log(
      `replicas-saga: ${SAGAS} sagas (${OUTCOMES.map((o) => `${results.filter((r) => r.outcome === o).length} ${o}`).join(', ')}) driven in ${(drivenMs / 1000).toFixed(1)} s; saga inputs applied per device-management replica ${applied.join(' / ')}; commands handled per telemetry replica ${telemetryHandled.map((h) => h.length).join(' / ')} (load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')})`,
    );
    expect(applied.every((n) => n > 0)).toBe(true);
    expect(applied.reduce((n, x) => n + x, 0)).toBe(results.reduce((n, r) => n + EXPECTED[r.outcome].inputs, 0));
    expect(telemetryHandled.map((h) => h.length > 0)).toEqual([true, true]);
    expect(telemetryHandled.flat().length).toBe(commands);
  }, 600_000);
});
