import type { ConnectSagaReply } from '@warmhouse/messaging';
import { decide, startSaga, type ConnectSaga, type SagaInput } from './connect-saga';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const timing = (ms = 0) => ({ now: at(ms), replyTimeoutMs: 30_000 });
const SAGA = '11111111-1111-4111-8111-111111111111';
const DEVICE = '22222222-2222-4222-8222-222222222222';
const OTHER = '33333333-3333-4333-8333-333333333333';

const started = () =>
  startSaga(
    { id: SAGA, deviceId: DEVICE, deviceType: 'heating', retentionDays: 30, firstReadingWithinSeconds: 60 },
    timing(),
  );

const envelope = {
  eventId: '44444444-4444-4444-8444-444444444444',
  schemaVersion: 1 as const,
  occurredAt: T0.toISOString(),
  requestId: null,
  source: 'telemetry',
};
const ids = { sagaId: SAGA, deviceId: DEVICE };
const replies = {
  provisioned: {
    ...envelope,
    type: 'connect-device.telemetry-provisioned',
    data: { ...ids, step: 'provision', metrics: ['temperature'], retentionDays: 30 },
  },
  provisioningFailed: {
    ...envelope,
    type: 'connect-device.telemetry-provisioning-failed',
    data: { ...ids, step: 'provision', reason: 'retention too long' },
  },
  firstReading: {
    ...envelope,
    type: 'connect-device.first-reading-received',
    data: { ...ids, step: 'confirm-first-reading', measuredAt: T0.toISOString() },
  },
  deprovisioned: {
    ...envelope,
    type: 'connect-device.telemetry-deprovisioned',
    data: { ...ids, step: 'deprovision', wasProvisioned: true },
  },
} satisfies Record<string, ConnectSagaReply>;
const reply = (r: ConnectSagaReply): SagaInput => ({ kind: 'reply', reply: r });
const timeout: SagaInput = { kind: 'timeout' };

/** A saga in `state`, reached through the real transitions. */
function sagaIn(state: ConnectSaga['state']): ConnectSaga {
  let saga = started().saga;
  if (state === 'provisioning') return saga;
  if (state === 'failed') return decide(saga, reply(replies.provisioningFailed), 'pending', timing(1)).saga;
  if (state === 'compensating') return decide(saga, timeout, 'pending', timing(30_000)).saga;
  saga = decide(saga, reply(replies.provisioned), 'pending', timing(1_000)).saga;
  if (state === 'awaiting_first_reading') return saga;
  return decide(saga, reply(replies.firstReading), 'pending', timing(2_000)).saga;
}

describe('connect-device saga state machine', () => {
  it('starts: step 1 logged as done, provisioning asked for, reply deadline set', () => {
    const d = started();
    expect(d.saga).toMatchObject({ state: 'provisioning', deadlineAt: at(30_000), compensationAttempts: 0 });
    expect(d.commands).toEqual([{ type: 'provision', retentionDays: 30, deviceType: 'heating' }]);
    expect(d.steps.map((s) => `${s.step}:${s.status}`)).toEqual(['register-pending:succeeded', 'provision:started']);
  });

  it('happy path: provisioned → confirm-first-reading with the device deadline → first reading → completed, active', () => {
    const p = decide(sagaIn('provisioning'), reply(replies.provisioned), 'pending', timing(1_000));
    expect(p.saga).toMatchObject({ state: 'awaiting_first_reading', deadlineAt: at(61_000) });
    expect(p.commands).toEqual([{ type: 'confirm-first-reading', deadline: at(61_000) }]);
    const f = decide(p.saga, reply(replies.firstReading), 'pending', timing(2_000));
    expect(f.saga).toMatchObject({ state: 'completed', deadlineAt: null, failureReason: null });
    expect(f.device).toEqual({ status: 'active' });
    expect(f.commands).toEqual([]);
    expect(f.steps.map((s) => `${s.step}:${s.status}`)).toEqual([
      'confirm-first-reading:succeeded',
      'activate:succeeded',
    ]);
  });

  // state + input → state, commands, device change
  it.each([
    ['provisioning', 'provisioning failed', reply(replies.provisioningFailed), 0, 'pending', 'failed', [], 'failed'],
    ['provisioning', 'timeout', timeout, 30_000, 'pending', 'compensating', ['deprovision#1'], undefined],
    ['awaiting_first_reading', 'timeout', timeout, 61_000, 'pending', 'compensating', ['deprovision#1'], undefined],
    [
      'awaiting_first_reading',
      'first reading of a deleted device',
      reply(replies.firstReading),
      5_000,
      'deleted',
      'compensating',
      ['deprovision#1'],
      undefined,
    ],
    ['compensating', 'deprovisioned', reply(replies.deprovisioned), 31_000, 'pending', 'failed', [], 'failed'],
    [
      'compensating',
      'deprovisioned (device deleted meanwhile)',
      reply(replies.deprovisioned),
      31_000,
      'deleted',
      'failed',
      [],
      undefined,
    ],
    ['compensating', 'timeout (asks again)', timeout, 60_000, 'pending', 'compensating', ['deprovision#2'], undefined],
  ] as const)('%s + %s → %s', (from, _what, input, ms, deviceStatus, to, commands, device) => {
    const d = decide(sagaIn(from), input, deviceStatus, timing(ms));
    expect(d.applied).toBe(true);
    expect(d.saga.state).toBe(to);
    expect(d.commands.map((c) => (c.type === 'deprovision' ? `deprovision#${c.attempt}` : c.type))).toEqual(commands);
    expect(d.device?.status).toBe(device);
    if (to === 'failed') expect(d.saga.deadlineAt).toBeNull();
    if (to === 'compensating') expect(d.saga.failureReason).toEqual(expect.any(String));
  });

  it('keeps the reason of the failure through compensation, onto the device', () => {
    const c = decide(sagaIn('awaiting_first_reading'), timeout, 'pending', timing(61_000));
    expect(c.saga.failureReason).toBe('no first reading within 60 s');
    const f = decide(c.saga, reply(replies.deprovisioned), 'pending', timing(62_000));
    expect(f.device).toEqual({ status: 'failed', reason: 'no first reading within 60 s' });
  });

  it("a provisioning refusal fails the device with telemetry's reason and sends nothing (nothing to undo)", () => {
    const d = decide(sagaIn('provisioning'), reply(replies.provisioningFailed), 'pending', timing(1));
    expect(d.device).toEqual({ status: 'failed', reason: 'telemetry refused to provision: retention too long' });
    expect(d.commands).toEqual([]);
  });

  it('a provisioning refusal leaves a device the user deleted meanwhile deleted (the saga still fails)', () => {
    const d = decide(sagaIn('provisioning'), reply(replies.provisioningFailed), 'deleted', timing(1));
    expect(d.saga.state).toBe('failed');
    expect(d.device).toBeUndefined();
  });

  // every reply in every state that does not wait for it, and early timeouts: nothing changes
  const all = Object.entries(replies);
  const states = ['provisioning', 'awaiting_first_reading', 'compensating', 'completed', 'failed'] as const;
  const waitsFor: Record<string, string[]> = {
    provisioning: ['provisioned', 'provisioningFailed'],
    awaiting_first_reading: ['firstReading'],
    compensating: ['deprovisioned'],
    completed: [],
    failed: [],
  };
  it.each(
    states.flatMap((s) =>
      all.filter(([name]) => !waitsFor[s]!.includes(name)).map(([name, r]) => [s, name, r] as const),
    ),
  )('ignores in %s a %s reply (duplicate or late): same saga, no command, no device change', (state, _name, r) => {
    const saga = sagaIn(state);
    const d = decide(saga, reply(r), 'pending', timing(10_000));
    expect(d).toMatchObject({ applied: false, saga, commands: [], steps: [] });
    expect(d.device).toBeUndefined();
  });

  it.each(['provisioning', 'awaiting_first_reading', 'compensating', 'completed', 'failed'] as const)(
    'ignores a timeout that is not due (or of a finished saga) in %s',
    (state) => {
      const saga = sagaIn(state);
      expect(decide(saga, timeout, 'pending', timing(2_500)).applied).toBe(false);
    },
  );

  it('ignores a reply naming another device', () => {
    const r = { ...replies.provisioned, data: { ...replies.provisioned.data, deviceId: OTHER } };
    expect(decide(sagaIn('provisioning'), reply(r), 'pending', timing(1)).applied).toBe(false);
  });

  it('a duplicate of an applied reply changes nothing the second time', () => {
    const once = decide(sagaIn('provisioning'), reply(replies.provisioned), 'pending', timing(1_000));
    const twice = decide(once.saga, reply(replies.provisioned), 'pending', timing(1_001));
    expect(twice.applied).toBe(false);
    expect(twice.saga).toBe(once.saga);
  });
});
