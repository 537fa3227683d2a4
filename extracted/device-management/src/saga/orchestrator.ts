import { randomUUID } from 'node:crypto';
import {
  checkedMessage,
  confirmFirstReadingCommand,
  CONNECT_SAGA_VERSION,
  createEnvelope,
  deprovisionDeviceCommand,
  provisionDeviceCommand,
  type ConnectSagaReply,
} from '@warmhouse/messaging';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { withTransaction, type Queryable } from '@warmhouse/shared';
import { devicesRepository } from '../data/devices-repository';
import { outboxRepository } from '../data/outbox-repository';
import { DEFAULT_SETTINGS, type Device, type DeviceType } from '../domain/device';
import { deviceRegistered, deviceStatusChanged } from '../domain/events';
import type { DeviceMetrics } from '../metrics';
import { decide, startSaga, type ConnectSaga, type Decision, type SagaCommand, type SagaInput } from './connect-saga';
import { sagaRepository, type LoggedStep, type StoredSaga } from './saga-repository';

export const SAGA_SOURCE = 'device-management';

export interface OrchestratorOptions {
  pool: Pool;
  logger: Logger;
  metrics: DeviceMetrics;
  commandsTopic: string;
  replyTimeoutMs: number;
  now?: () => Date;
}

export interface ConnectRequest {
  type: DeviceType;
  name: string;
  houseId: string;
  ownerId: string | null;
  retentionDays: number;
  firstReadingWithinSeconds: number;
}

export interface SagaView {
  saga: StoredSaga;
  steps: LoggedStep[];
  device: Device | undefined;
}

/** The saga's commands as messages of the contract in @warmhouse/messaging (validated before they are stored). */
function commandMessage(saga: ConnectSaga, command: SagaCommand, requestId: string | null, now: Date, device?: Device) {
  const ids = { sagaId: saga.id, deviceId: saga.deviceId };
  const envelope = (type: string) =>
    createEnvelope({ type, schemaVersion: CONNECT_SAGA_VERSION, source: SAGA_SOURCE, requestId, now });
  switch (command.type) {
    case 'provision':
      return checkedMessage(provisionDeviceCommand, {
        ...envelope('connect-device.provision-telemetry'),
        data: {
          ...ids,
          step: 'provision',
          deviceType: command.deviceType,
          retentionDays: command.retentionDays,
          ownerId: device?.ownerId ?? null,
        },
      });
    case 'confirm-first-reading':
      return checkedMessage(confirmFirstReadingCommand, {
        ...envelope('connect-device.confirm-first-reading'),
        data: { ...ids, step: 'confirm-first-reading', deadline: command.deadline.toISOString() },
      });
    case 'deprovision':
      return checkedMessage(deprovisionDeviceCommand, {
        ...envelope('connect-device.deprovision-telemetry'),
        data: { ...ids, step: 'deprovision', reason: command.reason, attempt: command.attempt },
      });
  }
}

/**
 * The orchestrator of the connect-device saga: runs {@link decide} on each input and commits its outcome — saga
 * row, step log, device status with its `device.status-changed` event, commands (outbox, published by the relay) —
 * in one transaction, under a row lock on the saga, so concurrent inputs (a reply racing the timer) apply one after
 * the other. Nothing lives only in memory: a restarted process resumes from the database (timer) and the reply topic
 * (committed offsets).
 */
export function createOrchestrator(opts: OrchestratorOptions) {
  const log = opts.logger.child({ module: 'connect-saga' });
  const now = opts.now ?? (() => new Date());
  const timing = () => ({ now: now(), replyTimeoutMs: opts.replyTimeoutMs });

  /** `before` is the saga's device as locked before {@link decide} ran (undefined: gone). */
  const persist = async (
    tx: Queryable,
    decision: Decision,
    before: Device | undefined,
    requestId: string | null,
    t: Date,
  ) => {
    const { saga } = decision;
    await sagaRepository.logSteps(tx, saga.id, decision.steps);
    if (decision.device) {
      const after = await devicesRepository.setConnectOutcome(
        tx,
        saga.deviceId,
        decision.device.status,
        decision.device.status === 'failed' ? decision.device.reason : null,
      );
      if (after && before && after.status !== before.status) {
        const ctx = { origin: 'device-management' as const, requestId, now: t };
        await outboxRepository.add(tx, deviceStatusChanged(after, before.status, ctx));
      }
    }
    for (const command of decision.commands) {
      await outboxRepository.addMessage(tx, {
        topic: opts.commandsTopic,
        key: saga.deviceId,
        aggregateType: 'connect-saga',
        message: commandMessage(saga, command, requestId, t, before),
      });
    }
  };

  const apply = async (
    sagaId: string,
    input: SagaInput,
    label: string,
    tx: Queryable,
  ): Promise<Decision | undefined> => {
    const saga = await sagaRepository.find(tx, sagaId, { forUpdate: true });
    if (!saga) {
      opts.metrics.sagaTransitions.inc({ input: label, result: 'unknown_saga' });
      log.warn({ event: 'saga_input_unknown_saga', sagaId, input: label }, 'input for an unknown saga ignored');
      return undefined;
    }
    const device = await devicesRepository.findById(tx, saga.deviceId, { forUpdate: true });
    const t = timing();
    const decision = decide(saga, input, device?.status, t);
    opts.metrics.sagaTransitions.inc({ input: label, result: decision.applied ? 'applied' : 'ignored' });
    if (!decision.applied) {
      log.info(
        { event: 'saga_input_ignored', sagaId, input: label, state: saga.state, because: decision.ignoredBecause },
        'saga input changes nothing',
      );
      return decision;
    }
    await sagaRepository.update(tx, decision.saga);
    await persist(tx, decision, device, saga.requestId, t.now);
    log.info(
      { event: 'saga_transition', sagaId, input: label, from: saga.state, to: decision.saga.state },
      `saga ${saga.state} → ${decision.saga.state}`,
    );
    if (decision.saga.state === 'completed' || decision.saga.state === 'failed') {
      opts.metrics.sagaFinished.inc({ state: decision.saga.state });
    }
    return decision;
  };

  return {
    /**
     * Step 1 and the start of step 2 in one transaction: the device registered as `pending` (with its
     * `device.registered` event), the saga row and the provisioning command.
     */
    async start(request: ConnectRequest, ctx: { requestId: string | null }): Promise<SagaView> {
      return withTransaction(opts.pool, async (tx) => {
        const device = await devicesRepository.insert(tx, {
          type: request.type,
          name: request.name,
          houseId: request.houseId,
          ownerId: request.ownerId,
          settings: DEFAULT_SETTINGS[request.type],
          status: 'pending',
        });
        await outboxRepository.add(
          tx,
          deviceRegistered(device, { origin: 'device-management', requestId: ctx.requestId }),
        );
        const t = timing();
        const decision = startSaga(
          {
            id: randomUUID(),
            deviceId: device.id,
            deviceType: request.type,
            retentionDays: request.retentionDays,
            firstReadingWithinSeconds: request.firstReadingWithinSeconds,
          },
          t,
        );
        await sagaRepository.insert(tx, decision.saga, ctx.requestId);
        await persist(tx, decision, device, ctx.requestId, t.now);
        log.info({ event: 'saga_started', sagaId: decision.saga.id, deviceId: device.id }, 'connect saga started');
        const saga = (await sagaRepository.find(tx, decision.saga.id)) as StoredSaga;
        return { saga, steps: await sagaRepository.steps(tx, saga.id), device };
      });
    },

    /** Applies one reply from telemetry (idempotent: a redelivered reply is ignored by the state machine). */
    handleReply(reply: ConnectSagaReply): Promise<Decision | undefined> {
      return withTransaction(opts.pool, (tx) => apply(reply.data.sagaId, { kind: 'reply', reply }, reply.type, tx));
    },

    /**
     * Fires the timeout of every saga past its deadline, each in its own transaction; returns how many were due.
     * Safe with several instances: the row lock serialises them and the state machine ignores a timeout that is
     * no longer due.
     */
    async fireDueTimeouts(limit = 50): Promise<number> {
      const due = await sagaRepository.due(opts.pool, now(), limit);
      for (const id of due) await withTransaction(opts.pool, (tx) => apply(id, { kind: 'timeout' }, 'timeout', tx));
      return due.length;
    },

    async view(sagaId: string): Promise<SagaView | undefined> {
      const saga = await sagaRepository.find(opts.pool, sagaId);
      if (!saga) return undefined;
      const [steps, device] = await Promise.all([
        sagaRepository.steps(opts.pool, sagaId),
        devicesRepository.findById(opts.pool, saga.deviceId),
      ]);
      return { saga, steps, device };
    },
  };
}

export type Orchestrator = ReturnType<typeof createOrchestrator>;
