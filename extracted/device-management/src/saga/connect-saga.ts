import type { ConnectSagaReply } from '@warmhouse/messaging';
import type { DeviceStatus, DeviceType } from '../domain/device';

/**
 * The "connect a device" saga as a pure state machine: (saga, input) → new saga + what to do. No I/O here; the
 * orchestrator (orchestrator.ts) loads the saga, calls {@link decide} and commits the outcome in one transaction.
 *
 *   provisioning ──provisioned──▶ awaiting_first_reading ──first reading──▶ completed (device active)
 *        │ provisioning-failed            │ timeout / device gone
 *        ▼                                ▼
 *      failed ◀──deprovisioned── compensating ◀── timeout (provisioning)
 *
 * Idempotent by construction: a reply is applied only in the state that waits for it; any other (a redelivery, a
 * late reply after a timeout) is ignored and changes nothing.
 */
export const SAGA_STATES = ['provisioning', 'awaiting_first_reading', 'compensating', 'completed', 'failed'] as const;
export type SagaState = (typeof SAGA_STATES)[number];

export const isFinished = (state: SagaState) => state === 'completed' || state === 'failed';

export interface ConnectSaga {
  id: string;
  deviceId: string;
  deviceType: DeviceType;
  state: SagaState;
  retentionDays: number;
  /** how long the device has to send its first reading once telemetry is provisioned */
  firstReadingWithinSeconds: number;
  /** when the current step times out; null once finished */
  deadlineAt: Date | null;
  failureReason: string | null;
  compensationAttempts: number;
}

/** Step names in the step log. */
export type StepName = 'register-pending' | 'provision' | 'confirm-first-reading' | 'activate' | 'deprovision';
export type StepStatus = 'started' | 'succeeded' | 'failed' | 'timed-out' | 'skipped';

export interface StepEntry {
  step: StepName;
  status: StepStatus;
  detail: string | null;
}

/** Commands to send (the orchestrator wraps them in envelopes and puts them in the outbox). */
export type SagaCommand =
  | { type: 'provision'; retentionDays: number; deviceType: DeviceType }
  | { type: 'confirm-first-reading'; deadline: Date }
  | { type: 'deprovision'; reason: string; attempt: number };

/** What the saga does to its device. */
export type DeviceChange = { status: 'active' } | { status: 'failed'; reason: string };

export type SagaInput =
  | { kind: 'reply'; reply: ConnectSagaReply }
  /** the timer found the saga past its deadline */
  | { kind: 'timeout' };

export interface Decision {
  /** false: the input changes nothing (duplicate, late, or for another saga) */
  applied: boolean;
  /** why it was ignored (logged) */
  ignoredBecause?: string;
  saga: ConnectSaga;
  commands: SagaCommand[];
  device?: DeviceChange;
  steps: StepEntry[];
}

export interface Timing {
  now: Date;
  /** how long a participant has to answer a command */
  replyTimeoutMs: number;
}

/** Inputs to start a saga with. */
export interface NewSaga {
  id: string;
  deviceId: string;
  deviceType: DeviceType;
  retentionDays: number;
  firstReadingWithinSeconds: number;
}

const after = (now: Date, ms: number) => new Date(now.getTime() + ms);

/** Step 1 (the device registered as pending) is done by the caller; the saga then asks telemetry to provision. */
export function startSaga(input: NewSaga, t: Timing): Decision {
  const saga: ConnectSaga = {
    ...input,
    state: 'provisioning',
    deadlineAt: after(t.now, t.replyTimeoutMs),
    failureReason: null,
    compensationAttempts: 0,
  };
  return {
    applied: true,
    saga,
    commands: [{ type: 'provision', retentionDays: input.retentionDays, deviceType: input.deviceType }],
    steps: [
      { step: 'register-pending', status: 'succeeded', detail: `device ${input.deviceId} registered as pending` },
      { step: 'provision', status: 'started', detail: null },
    ],
  };
}

const ignore = (saga: ConnectSaga, because: string): Decision => ({
  applied: false,
  ignoredBecause: because,
  saga,
  commands: [],
  steps: [],
});

/** Starts compensation: telemetry may have provisioned (or be about to), so it is always asked to undo. */
function compensate(saga: ConnectSaga, t: Timing, reason: string, steps: StepEntry[]): Decision {
  const attempt = 1;
  return {
    applied: true,
    saga: {
      ...saga,
      state: 'compensating',
      failureReason: reason,
      compensationAttempts: attempt,
      deadlineAt: after(t.now, t.replyTimeoutMs),
    },
    commands: [{ type: 'deprovision', reason, attempt }],
    steps: [...steps, { step: 'deprovision', status: 'started', detail: reason }],
  };
}

/**
 * The next state for one input. `deviceStatus` is the device's status now (the user may have deleted the pending
 * device meanwhile: activation then fails and the saga compensates).
 */
export function decide(
  saga: ConnectSaga,
  input: SagaInput,
  deviceStatus: DeviceStatus | undefined,
  t: Timing,
): Decision {
  if (isFinished(saga.state)) return ignore(saga, `saga is ${saga.state}`);

  if (input.kind === 'timeout') {
    if (saga.deadlineAt === null || saga.deadlineAt.getTime() > t.now.getTime()) return ignore(saga, 'not due');
    switch (saga.state) {
      case 'provisioning': {
        const reason = `telemetry did not answer the provisioning request within ${t.replyTimeoutMs} ms`;
        return compensate(saga, t, reason, [{ step: 'provision', status: 'timed-out', detail: reason }]);
      }
      case 'awaiting_first_reading': {
        const reason = `no first reading within ${saga.firstReadingWithinSeconds} s`;
        return compensate(saga, t, reason, [{ step: 'confirm-first-reading', status: 'timed-out', detail: reason }]);
      }
      case 'compensating': {
        // compensation must finish: ask again (telemetry re-sends its stored reply if it already undid it)
        const attempt = saga.compensationAttempts + 1;
        const reason = saga.failureReason ?? 'compensating';
        return {
          applied: true,
          saga: { ...saga, compensationAttempts: attempt, deadlineAt: after(t.now, t.replyTimeoutMs) },
          commands: [{ type: 'deprovision', reason, attempt }],
          steps: [{ step: 'deprovision', status: 'timed-out', detail: `no answer; asking again (attempt ${attempt})` }],
        };
      }
    }
  }

  const reply = input.reply;
  if (reply.data.sagaId !== saga.id || reply.data.deviceId !== saga.deviceId) {
    return ignore(saga, 'reply of another saga or device');
  }
  switch (reply.type) {
    case 'connect-device.telemetry-provisioned': {
      if (saga.state !== 'provisioning') return ignore(saga, `provisioned while ${saga.state}`);
      const deadline = after(t.now, saga.firstReadingWithinSeconds * 1000);
      return {
        applied: true,
        saga: { ...saga, state: 'awaiting_first_reading', deadlineAt: deadline },
        commands: [{ type: 'confirm-first-reading', deadline }],
        steps: [
          {
            step: 'provision',
            status: 'succeeded',
            detail: `metrics ${reply.data.metrics.join(', ')}, retention ${reply.data.retentionDays} days`,
          },
          { step: 'confirm-first-reading', status: 'started', detail: `deadline ${deadline.toISOString()}` },
        ],
      };
    }
    case 'connect-device.telemetry-provisioning-failed': {
      if (saga.state !== 'provisioning') return ignore(saga, `provisioning failed while ${saga.state}`);
      // nothing was provisioned: nothing to undo in telemetry
      const reason = `telemetry refused to provision: ${reply.data.reason}`;
      return {
        applied: true,
        saga: { ...saga, state: 'failed', failureReason: reason, deadlineAt: null },
        commands: [],
        // a device the user deleted meanwhile stays deleted
        ...(deviceStatus === 'pending' ? { device: { status: 'failed' as const, reason } } : {}),
        steps: [{ step: 'provision', status: 'failed', detail: reply.data.reason }],
      };
    }
    case 'connect-device.first-reading-received': {
      if (saga.state !== 'awaiting_first_reading') return ignore(saga, `first reading while ${saga.state}`);
      const confirmed: StepEntry = {
        step: 'confirm-first-reading',
        status: 'succeeded',
        detail: `first reading measured at ${reply.data.measuredAt}`,
      };
      if (deviceStatus !== 'pending') {
        const reason = `the device could not be activated: it is ${deviceStatus ?? 'gone'}`;
        return compensate(saga, t, reason, [confirmed, { step: 'activate', status: 'failed', detail: reason }]);
      }
      return {
        applied: true,
        saga: { ...saga, state: 'completed', deadlineAt: null },
        commands: [],
        device: { status: 'active' },
        steps: [confirmed, { step: 'activate', status: 'succeeded', detail: null }],
      };
    }
    case 'connect-device.telemetry-deprovisioned': {
      if (saga.state !== 'compensating') return ignore(saga, `deprovisioned while ${saga.state}`);
      const reason = saga.failureReason ?? 'compensated';
      return {
        applied: true,
        saga: { ...saga, state: 'failed', deadlineAt: null },
        commands: [],
        // a device the user deleted meanwhile stays deleted
        ...(deviceStatus === 'pending' ? { device: { status: 'failed' as const, reason } } : {}),
        steps: [
          {
            step: 'deprovision',
            status: 'succeeded',
            detail: reply.data.wasProvisioned ? 'telemetry de-provisioned the device' : 'nothing to undo in telemetry',
          },
        ],
      };
    }
  }
}
