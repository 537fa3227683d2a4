import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { waitFor } from '@warmhouse/shared';
import { messageValidators, parseAsyncApi } from '../../../../packages/messaging/src/asyncapi/document';
import {
  startService as startTelemetry,
  testEnvironment as telemetryEnvironment,
} from '../../../telemetry/test/integration/support';
import { count, startService, testEnvironment, type TestEnvironment } from './support';
import {
  http,
  messageCount,
  recordBytes,
  spawnDeviceManagement,
  untilSaga,
  SAGA_STEPS,
  stepLine,
  untilSagaRow,
  type SagaJson,
} from './saga-support';

type Running = Awaited<ReturnType<typeof startService>>;
type RunningTelemetry = Awaited<ReturnType<typeof startTelemetry>>;
type Recorder = Awaited<ReturnType<typeof recordBytes>>;

/**
 * The connect-device saga end to end: device management (orchestrator, in process) and telemetry (participant, in
 * process) over real Kafka and PostgreSQL, each with its own database and this file's own saga topics.
 */
describe('connect-device saga', () => {
  let dm: TestEnvironment;
  let tm: Awaited<ReturnType<typeof telemetryEnvironment>>;
  let dmEnv: Record<string, string>;
  let service: Running | undefined;
  let telemetry: RunningTelemetry;
  let commands: Recorder;
  let replies: Recorder;
  let events: Recorder;
  let validators: ReturnType<typeof messageValidators>;
  let producer: Producer;
  let brokers: string[];
  let topics: { commands: string; replies: string };

  beforeAll(async () => {
    dm = await testEnvironment();
    tm = await telemetryEnvironment();
    brokers = dm.endpoints.kafka.brokers;
    topics = { commands: `saga-test-${dm.suffix}.commands`, replies: `saga-test-${dm.suffix}.replies` };
    telemetry = await startTelemetry(
      tm.env({
        TELEMETRY_ROLES: 'api,projector,saga',
        TELEMETRY_SAGA_COMMANDS_TOPIC: topics.commands,
        TELEMETRY_SAGA_REPLIES_TOPIC: topics.replies,
        TELEMETRY_SAGA_GROUP: `saga-test-${dm.suffix}.telemetry`,
        TELEMETRY_MAX_RETENTION_DAYS: '365',
        TELEMETRY_FIRST_READING_POLL_MS: '200',
      }),
    );
    dmEnv = dm.env({
      CDC_SYNC_ENABLED: 'false',
      WRITE_BACK_ENABLED: 'false',
      SAGA_COMMANDS_TOPIC: topics.commands,
      SAGA_REPLIES_TOPIC: topics.replies,
      SAGA_GROUP_ID: `saga-test-${dm.suffix}.orchestrator`,
      SAGA_REPLY_TIMEOUT_MS: '60000',
      SAGA_TIMER_MS: '200',
      OUTBOX_POLL_MS: '100',
    });
    service = await startService(dmEnv, 'connect-saga');
    commands = await recordBytes(brokers, topics.commands);
    replies = await recordBytes(brokers, topics.replies);
    events = await recordBytes(brokers, dmEnv.DEVICE_EVENTS_TOPIC!);
    validators = messageValidators(await parseAsyncApi());
    producer = new Kafka({ brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await commands?.stop();
    await replies?.stop();
    await events?.stop();
    await service?.stop();
    await telemetry?.stop();
    await dm?.close();
    await tm?.close();
  });

  const base = () => service!.url;
  const connect = (body: Record<string, unknown>) => http<SagaJson>('POST', `${base()}/api/v1/devices/connect`, body);
  const newDevice = (extra: Record<string, unknown> = {}) => ({
    type: 'temperature_sensor',
    name: 'Hall sensor',
    houseId: `house-${dm.suffix}`,
    ...extra,
  });
  const reading = (deviceId: string) => ({
    deviceId,
    metric: 'temperature',
    value: 20.5,
    unit: 'Cel',
    measuredAt: new Date().toISOString(),
  });
  const sendFirstReading = async (deviceId: string) => {
    const res = await http('POST', `${telemetry.url}/api/v1/telemetry`, reading(deviceId));
    expect(res.status).toBe(202);
  };
  const provisioning = async (deviceId: string) =>
    (
      await tm.db.query<{ status: string; metrics: string[]; retention_days: number }>(
        'SELECT status, metrics, retention_days FROM provisioning.devices WHERE device_id = $1',
        [deviceId],
      )
    ).rows[0];
  const commandTypes = (sagaId: string) => commands.of(sagaId).map((m) => m.json?.type);
  /** The device's events on the device events topic (keyed by its id), once its status change is there. */
  const statusEvents = (deviceId: string) =>
    events.until(`device.status-changed of ${deviceId} on the device events topic`, () => {
      const mine = events.messages.filter((m) => m.key?.toString() === deviceId);
      return mine.some((m) => m.json?.type === 'device.status-changed') ? mine : undefined;
    });
  /** The status change as published, checked against docs/asyncapi.yaml (key, headers, payload). */
  const statusChangeOf = (mine: Awaited<ReturnType<typeof statusEvents>>) => {
    expect(mine.map((m) => m.json?.type)).toEqual(['device.registered', 'device.status-changed']);
    const published = mine[1]!;
    expect(
      validators.problems('device-management.device-events', {
        key: published.key?.toString(),
        value: published.json,
        headers: published.headers,
      }),
    ).toBeUndefined();
    expect(published.headers).toMatchObject({ 'event-type': 'device.status-changed', origin: 'device-management' });
    return published.json as { deviceId: string; data: unknown };
  };

  describe('bad input', () => {
    it.each([
      ['a missing field', { type: 'heating', houseId: 'h-1' }, 'name', 'is required'],
      ['an unknown device type', { type: 'toaster', name: 'T', houseId: 'h-1' }, 'type', 'must be one of'],
      [
        'a retention out of range',
        { type: 'heating', name: 'T', houseId: 'h-1', retentionDays: 0 },
        'retentionDays',
        '>= 1',
      ],
    ])('rejects %s with 400 naming the field, before any step runs', async (_what, body, field, message) => {
      const before = await count(dm.db, 'SELECT count(*) AS n FROM outbox');
      const res = await http<{ code: string; errors: Array<{ in: string; field: string; message: string }> }>(
        'POST',
        `${base()}/api/v1/devices/connect`,
        body,
      );
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.code).toBe('DEVICE_ERR_VALIDATION');
      expect(res.body.errors).toContainEqual({ in: 'body', field, message: expect.stringContaining(message) });
      expect(await count(dm.db, 'SELECT count(*) AS n FROM connect_sagas')).toBe(0);
      expect(await count(dm.db, 'SELECT count(*) AS n FROM outbox')).toBe(before);
    });

    it('answers 404 problem+json for an unknown saga', async () => {
      const res = await http<{ code: string }>('GET', `${base()}/api/v1/devices/connect/${randomUUID()}`);
      expect(res).toMatchObject({ status: 404, body: { code: 'DEVICE_ERR_SAGA_NOT_FOUND' } });
    });
  });

  it('happy path: pending → provisioned → first reading → active, every step with its time', async () => {
    const res = await connect(newDevice({ retentionDays: 90, firstReadingWithinSeconds: 300 }));
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/api/v1/devices/connect/${res.body.sagaId}`);
    expect(res.body).toMatchObject({ state: 'provisioning', deviceStatus: 'pending', failureReason: null });
    const { sagaId, deviceId } = res.body;

    const waiting = await untilSaga(base(), sagaId, 'awaiting_first_reading');
    expect(await provisioning(deviceId)).toEqual({
      status: 'provisioned',
      metrics: ['temperature'],
      retention_days: 90,
    });
    expect(waiting.deviceStatus).toBe('pending');

    await sendFirstReading(deviceId);
    const done = await untilSaga(base(), sagaId, 'completed');
    expect(done).toMatchObject({ deviceStatus: 'active', failureReason: null, deadlineAt: null });
    expect(stepLine(done)).toEqual(SAGA_STEPS.completed);
    const times = done.steps.map((s) => Date.parse(s.at));
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
    expect(Date.parse(done.finishedAt!)).toBeGreaterThanOrEqual(times[times.length - 1]!);
    const device = await http<{ status: string }>('GET', `${base()}/api/v1/devices/${deviceId}`);
    expect(device.body.status).toBe('active');
    expect(commandTypes(sagaId)).toEqual([
      'connect-device.provision-telemetry',
      'connect-device.confirm-first-reading',
    ]);
    expect(statusChangeOf(await statusEvents(deviceId))).toMatchObject({
      deviceId,
      data: { status: 'active', previous: 'pending', failureReason: null },
    });
  });

  it('failure at step 2 (telemetry refuses): the device fails with the reason; nothing to undo', async () => {
    const res = await connect(newDevice({ retentionDays: 400 }));
    expect(res.status).toBe(202);
    const failed = await untilSaga(base(), res.body.sagaId, 'failed');
    expect(failed.failureReason).toBe(
      'telemetry refused to provision: retention of 400 days exceeds the 365 days telemetry keeps',
    );
    expect(failed.deviceStatus).toBe('failed');
    expect(stepLine(failed)).toEqual(SAGA_STEPS.refused);
    const device = await http<{ status: string; failureReason: string }>(
      'GET',
      `${base()}/api/v1/devices/${res.body.deviceId}`,
    );
    expect(device.body).toMatchObject({ status: 'failed', failureReason: failed.failureReason });
    expect(await provisioning(res.body.deviceId)).toBeUndefined();
    expect(commandTypes(res.body.sagaId)).toEqual(['connect-device.provision-telemetry']);
    expect(statusChangeOf(await statusEvents(res.body.deviceId))).toMatchObject({
      deviceId: res.body.deviceId,
      data: { status: 'failed', previous: 'pending', failureReason: failed.failureReason },
    });
  });

  it('failure at step 3 (no first reading in time): telemetry de-provisions, the device fails', async () => {
    const res = await connect(newDevice({ firstReadingWithinSeconds: 2 }));
    const failed = await untilSaga(base(), res.body.sagaId, 'failed');
    expect(failed).toMatchObject({ deviceStatus: 'failed', failureReason: 'no first reading within 2 s' });
    expect(stepLine(failed)).toEqual(SAGA_STEPS.timedOut);
    expect((await provisioning(res.body.deviceId))?.status).toBe('deprovisioned');
    expect(commandTypes(res.body.sagaId)).toEqual([
      'connect-device.provision-telemetry',
      'connect-device.confirm-first-reading',
      'connect-device.deprovision-telemetry',
    ]);
    expect(statusChangeOf(await statusEvents(res.body.deviceId)).data).toEqual({
      status: 'failed',
      previous: 'pending',
      failureReason: 'no first reading within 2 s',
    });
  });

  it('failure at step 4 (the device was deleted before activation): telemetry de-provisions, the device stays deleted', async () => {
    const res = await connect(newDevice());
    await untilSaga(base(), res.body.sagaId, 'awaiting_first_reading');
    expect((await http('DELETE', `${base()}/api/v1/devices/${res.body.deviceId}`)).status).toBe(204);
    await sendFirstReading(res.body.deviceId);
    const failed = await untilSaga(base(), res.body.sagaId, 'failed');
    expect(failed.failureReason).toBe('the device could not be activated: it is deleted');
    expect(stepLine(failed)).toEqual(SAGA_STEPS.deleted);
    expect(failed.deviceStatus).toBe('deleted');
    expect((await provisioning(res.body.deviceId))?.status).toBe('deprovisioned');
    // its status did not change by the saga: no device.status-changed (committed with the saga's end, or never)
    const { rows } = await dm.db.query<{ event_type: string }>(
      'SELECT event_type FROM outbox WHERE aggregate_id = $1 AND topic IS NULL ORDER BY id',
      [res.body.deviceId],
    );
    expect(rows.map((r) => r.event_type)).toEqual(['device.registered', 'device.deleted']);
  });

  it('duplicate delivery of every command and reply changes nothing', async () => {
    // every message type is on the topics by now (happy path, refusal, timeout, deleted device)
    const commandTypesSeen = new Set(commands.messages.map((m) => m.json?.type));
    const replyTypesSeen = new Set(replies.messages.map((m) => m.json?.type));
    expect([...commandTypesSeen].sort()).toEqual([
      'connect-device.confirm-first-reading',
      'connect-device.deprovision-telemetry',
      'connect-device.provision-telemetry',
    ]);
    expect([...replyTypesSeen].sort()).toEqual([
      'connect-device.first-reading-received',
      'connect-device.telemetry-deprovisioned',
      'connect-device.telemetry-provisioned',
      'connect-device.telemetry-provisioning-failed',
    ]);
    // settle: every reply so far handled by the orchestrator
    const settled = async () => {
      const total = await messageCount(brokers, topics.replies);
      await waitFor(
        'the orchestrator to have handled every reply',
        () => {
          const s = service!.sagaWorker!.replies.stats();
          return s.handled + s.deadLettered === total ? true : undefined;
        },
        { timeoutMs: 60_000 },
      );
    };
    await settled();
    const snapshot = async () => ({
      sagas: (
        await dm.db.query('SELECT id, state, failure_reason, deadline_at, version FROM connect_sagas ORDER BY id')
      ).rows,
      steps: (await dm.db.query('SELECT id, saga_id, step, status FROM connect_saga_steps ORDER BY id')).rows,
      devices: (await dm.db.query('SELECT id, status, failure_reason, version FROM devices ORDER BY id')).rows,
      outbox: await count(dm.db, 'SELECT count(*) AS n FROM outbox'),
      provisioning: (await tm.db.query('SELECT * FROM provisioning.devices ORDER BY device_id')).rows,
      handled: (await tm.db.query('SELECT saga_id, step, reply FROM provisioning.handled_commands ORDER BY 1, 2')).rows,
    });
    const before = await snapshot();
    const telemetryHandled = telemetry.sagaCommands!.stats().handled;

    const dupCommands = [...commands.messages];
    const dupReplies = [...replies.messages];
    await producer.send({
      topic: topics.commands,
      messages: dupCommands.map(({ key, value, headers }) => ({ key, value, headers })),
    });
    await producer.send({
      topic: topics.replies,
      messages: dupReplies.map(({ key, value, headers }) => ({ key, value, headers })),
    });

    await waitFor(
      'telemetry to have handled every duplicated command',
      () => (telemetry.sagaCommands!.stats().handled >= telemetryHandled + dupCommands.length ? true : undefined),
      { timeoutMs: 60_000 },
    );
    // the replies telemetry re-sent for duplicated commands are on the topic now; the orchestrator handles them all
    await settled();
    expect(await snapshot()).toEqual(before);
    expect(service!.sagaWorker!.replies.stats().deadLettered).toBe(0);
  });

  it('the orchestrator killed between steps resumes from its stored state (reply and deadline while it was down)', async () => {
    await service!.stop();
    service = undefined;
    const child = spawnDeviceManagement({ ...dmEnv, PORT: '0' }, `dm-saga-${dm.suffix}-1.log`);
    let url = await child.url;
    const waiting = (await http<SagaJson>('POST', `${url}/api/v1/devices/connect`, newDevice())).body;
    const expiring = (
      await http<SagaJson>('POST', `${url}/api/v1/devices/connect`, newDevice({ firstReadingWithinSeconds: 8 }))
    ).body;
    await untilSaga(url, waiting.sagaId, 'awaiting_first_reading');
    const expiringNow = await untilSaga(url, expiring.sagaId, 'awaiting_first_reading');

    child.kill('SIGKILL');
    expect(await child.exited).toBeNull();
    // while it is down: the first reading of one device is reported, the other's deadline passes
    await sendFirstReading(waiting.deviceId);
    await replies.until('the first-reading report', () =>
      replies.of(waiting.sagaId).find((m) => m.json?.type === 'connect-device.first-reading-received'),
    );
    await waitFor('the deadline to pass', () => (Date.now() > Date.parse(expiringNow.deadlineAt!) ? true : undefined), {
      timeoutMs: 20_000,
    });
    expect((await dm.db.query('SELECT state FROM connect_sagas WHERE id = $1', [waiting.sagaId])).rows[0].state).toBe(
      'awaiting_first_reading',
    );

    const again = spawnDeviceManagement({ ...dmEnv, PORT: '0' }, `dm-saga-${dm.suffix}-2.log`);
    try {
      url = await again.url;
      const done = await untilSaga(url, waiting.sagaId, 'completed');
      expect(done.deviceStatus).toBe('active');
      const failed = await untilSaga(url, expiring.sagaId, 'failed');
      expect(failed).toMatchObject({ deviceStatus: 'failed', failureReason: 'no first reading within 8 s' });
      expect((await provisioning(expiring.deviceId))?.status).toBe('deprovisioned');
      await untilSagaRow(dm.db, waiting.sagaId, 'completed');
    } finally {
      again.kill('SIGTERM');
      await again.exited;
    }
  });
});

/**
 * Malformed replies and a participant that never answers: device management alone, the test plays telemetry on
 * real Kafka (so it can send what the real one never would).
 */
describe('connect-device saga with a scripted participant', () => {
  let dm: TestEnvironment;
  let service: Running;
  let commands: Recorder;
  let dlq: Recorder;
  let producer: Producer;
  let topics: { commands: string; replies: string };

  beforeAll(async () => {
    dm = await testEnvironment();
    const brokers = dm.endpoints.kafka.brokers;
    topics = { commands: `saga-test-${dm.suffix}.commands`, replies: `saga-test-${dm.suffix}.replies` };
    service = await startService(
      dm.env({
        CDC_SYNC_ENABLED: 'false',
        WRITE_BACK_ENABLED: 'false',
        SAGA_COMMANDS_TOPIC: topics.commands,
        SAGA_REPLIES_TOPIC: topics.replies,
        SAGA_GROUP_ID: `saga-test-${dm.suffix}.orchestrator`,
        SAGA_REPLY_TIMEOUT_MS: '4000',
        SAGA_TIMER_MS: '200',
        OUTBOX_POLL_MS: '100',
      }),
      'connect-saga-scripted',
    );
    commands = await recordBytes(brokers, topics.commands);
    dlq = await recordBytes(brokers, `${topics.replies}.dlq`);
    producer = new Kafka({ brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await commands?.stop();
    await dlq?.stop();
    await service?.stop();
    await dm?.close();
  });

  it('a malformed reply goes to the dead-letter topic; the saga times out into compensation instead of hanging', async () => {
    const res = await http<SagaJson>('POST', `${service.url}/api/v1/devices/connect`, {
      type: 'heating',
      name: 'Boiler',
      houseId: 'h-scripted',
    });
    const { sagaId, deviceId } = res.body;
    const provision = await commands.until('the provisioning command', () =>
      commands.of(sagaId).find((m) => m.json?.type === 'connect-device.provision-telemetry'),
    );
    const command = provision.json as { requestId: string | null };
    // "provisioned", but without its metrics: not a reply of the contract
    const malformed = {
      eventId: randomUUID(),
      type: 'connect-device.telemetry-provisioned',
      schemaVersion: 1,
      occurredAt: new Date().toISOString(),
      requestId: command.requestId,
      source: 'telemetry',
      data: { sagaId, deviceId, step: 'provision', retentionDays: 30 },
    };
    await producer.send({ topic: topics.replies, messages: [{ key: deviceId, value: JSON.stringify(malformed) }] });
    await producer.send({ topic: topics.replies, messages: [{ key: deviceId, value: '{"not json' }] });

    const dead = await dlq.until('both replies dead-lettered', () =>
      dlq.messages.length >= 2 ? dlq.messages : undefined,
    );
    expect(dead.map((m) => m.headers['x-dlq-reason'])).toEqual(['malformed', 'malformed']);
    expect(dead[0]!.headers['x-dlq-error']).toContain('data.metrics');

    const compensating = await untilSaga(service.url, sagaId, 'compensating', 30_000);
    expect(compensating.failureReason).toBe('telemetry did not answer the provisioning request within 4000 ms');
    expect(compensating.deviceStatus).toBe('pending');
    const deprovision = await commands.until('the de-provisioning command', () =>
      commands.of(sagaId).find((m) => m.json?.type === 'connect-device.deprovision-telemetry'),
    );
    expect(deprovision.json?.data).toMatchObject({ sagaId, deviceId, step: 'deprovision', attempt: 1 });

    const deprovisioned = {
      ...malformed,
      eventId: randomUUID(),
      type: 'connect-device.telemetry-deprovisioned',
      data: { sagaId, deviceId, step: 'deprovision', wasProvisioned: false },
    };
    await producer.send({ topic: topics.replies, messages: [{ key: deviceId, value: JSON.stringify(deprovisioned) }] });
    const failed = await untilSaga(service.url, sagaId, 'failed', 30_000);
    expect(failed).toMatchObject({ deviceStatus: 'failed', failureReason: compensating.failureReason });
    // a slow answer may have cost a re-sent de-provisioning ('deprovision:timed-out') on a loaded machine
    const steps = stepLine(failed).filter((x) => x !== 'deprovision:timed-out');
    expect(steps).toEqual([
      'register-pending:succeeded',
      'provision:started',
      'provision:timed-out',
      'deprovision:started',
      'deprovision:succeeded',
    ]);
  });

  it('a participant that does not answer the compensation is asked again until it does', async () => {
    const res = await http<SagaJson>('POST', `${service.url}/api/v1/devices/connect`, {
      type: 'heating',
      name: 'Silent',
      houseId: 'h-scripted',
    });
    const { sagaId } = res.body;
    const second = await commands.until(
      'a second de-provisioning attempt',
      () =>
        commands
          .of(sagaId)
          .find(
            (m) =>
              m.json?.type === 'connect-device.deprovision-telemetry' &&
              (m.json.data as { attempt?: number }).attempt === 2,
          ),
      60_000,
    );
    expect(second).toBeDefined();
    const saga = (await http<SagaJson>('GET', `${service.url}/api/v1/devices/connect/${sagaId}`)).body;
    expect(saga.state).toBe('compensating');
    expect(stepLine(saga)).toContain('deprovision:timed-out');
  });
});
