import {
  checkedMessage,
  connectSagaCommandSchema,
  CONNECT_SAGA_VERSION,
  createEnvelope,
  createContractConsumer,
  deviceDeprovisionedReply,
  deviceProvisionedReply,
  envelopeHeaders,
  provisioningFailedReply,
  type ConnectSagaCommand,
  type ConnectSagaReply,
  type EventProducer,
  type MessageConsumer,
} from '@warmhouse/messaging';
import { CodedError, withTransaction, type Logger } from '@warmhouse/shared';
import type { Kafka } from 'kafkajs';
import type { Pool, PoolClient } from 'pg';
import { decideProvisioning } from './provisioning';
import { provisioningRepository as repo } from './provisioning-repository';

export const TELEMETRY_SOURCE = 'telemetry';

/** Builds a reply to `command` (checked against its schema: a reply that does not match never leaves). */
function replyTo(
  command: ConnectSagaCommand,
  reply:
    | { type: 'connect-device.telemetry-provisioned'; metrics: string[]; retentionDays: number }
    | { type: 'connect-device.telemetry-provisioning-failed'; reason: string }
    | { type: 'connect-device.telemetry-deprovisioned'; wasProvisioned: boolean },
): ConnectSagaReply {
  const envelope = createEnvelope({
    type: reply.type,
    schemaVersion: CONNECT_SAGA_VERSION,
    source: TELEMETRY_SOURCE,
    requestId: command.requestId,
  });
  const ids = { sagaId: command.data.sagaId, deviceId: command.data.deviceId };
  switch (reply.type) {
    case 'connect-device.telemetry-provisioned':
      return checkedMessage(deviceProvisionedReply, {
        ...envelope,
        data: { ...ids, step: 'provision', metrics: reply.metrics, retentionDays: reply.retentionDays },
      });
    case 'connect-device.telemetry-provisioning-failed':
      return checkedMessage(provisioningFailedReply, {
        ...envelope,
        data: { ...ids, step: 'provision', reason: reply.reason },
      });
    case 'connect-device.telemetry-deprovisioned':
      return checkedMessage(deviceDeprovisionedReply, {
        ...envelope,
        data: { ...ids, step: 'deprovision', wasProvisioned: reply.wasProvisioned },
      });
  }
}

/** Applies a command not handled before; returns the reply to send (null: this step has no immediate reply). */
async function applyCommand(
  tx: PoolClient,
  command: ConnectSagaCommand,
  limits: { maxRetentionDays: number },
): Promise<ConnectSagaReply | null> {
  const { sagaId, deviceId } = command.data;
  switch (command.type) {
    case 'connect-device.provision-telemetry': {
      // a provisioning that arrives after its saga was compensated must not leave a device behind
      if (await repo.handled(tx, sagaId, 'deprovision')) {
        return replyTo(command, {
          type: 'connect-device.telemetry-provisioning-failed',
          reason: 'the saga was already compensated',
        });
      }
      const existing = await repo.find(tx, deviceId, { forUpdate: true });
      if (existing) {
        return replyTo(command, {
          type: 'connect-device.telemetry-provisioning-failed',
          reason: `device ${deviceId} was already provisioned by saga ${existing.sagaId}`,
        });
      }
      const decision = decideProvisioning(command.data, limits);
      if (!decision.ok) {
        return replyTo(command, { type: 'connect-device.telemetry-provisioning-failed', reason: decision.reason });
      }
      await repo.provision(tx, {
        deviceId,
        deviceType: command.data.deviceType,
        metrics: decision.metrics,
        retentionDays: decision.retentionDays,
        sagaId,
        ownerId: command.data.ownerId ?? null,
      });
      return replyTo(command, {
        type: 'connect-device.telemetry-provisioned',
        metrics: decision.metrics,
        retentionDays: decision.retentionDays,
      });
    }
    case 'connect-device.confirm-first-reading': {
      const existing = await repo.find(tx, deviceId, { forUpdate: true });
      // not provisioned by this saga: nothing to watch; the orchestrator times out and compensates
      if (existing?.status === 'provisioned' && existing.sagaId === sagaId) await repo.watchFirstReading(tx, deviceId);
      return null;
    }
    case 'connect-device.deprovision-telemetry': {
      const existing = await repo.find(tx, deviceId, { forUpdate: true });
      const wasProvisioned = existing?.status === 'provisioned' && existing.sagaId === sagaId;
      if (wasProvisioned) await repo.deprovision(tx, deviceId);
      return replyTo(command, { type: 'connect-device.telemetry-deprovisioned', wasProvisioned });
    }
  }
}

/**
 * Telemetry's side of the connect-device saga: consumes the orchestrator's commands and replies. Each command is
 * applied once per (saga id, step) — the effect and the "handled" row with the reply commit together; a redelivered
 * command changes nothing and only re-sends the stored reply (same event id), which is also how a reply lost
 * between the commit and the send gets out. Malformed commands go to `<topic>.dlq`.
 */
export function createSagaCommandConsumer(opts: {
  kafka: Kafka;
  pool: Pool;
  producer: Pick<EventProducer, 'publish'>;
  commandsTopic: string;
  repliesTopic: string;
  groupId: string;
  maxRetentionDays: number;
  logger: Logger;
}): MessageConsumer {
  const { kafka, groupId, logger } = opts;
  return createContractConsumer({
    kafka,
    groupId,
    logger,
    topic: opts.commandsTopic,
    schema: connectSagaCommandSchema,
    module: 'saga-commands',
    commitPolicy: { maxMessages: 1, maxMs: 0 },
    handle: async (command, ctx) => {
      const { sagaId, step } = command.data;
      const { reply, duplicate } = await withTransaction(opts.pool, async (client) => {
        const done = await repo.handled(client, sagaId, step);
        if (done) return { duplicate: true, reply: done.reply as ConnectSagaReply | null };
        const applied = await applyCommand(client, command, { maxRetentionDays: opts.maxRetentionDays });
        if (!(await repo.markHandled(client, sagaId, step, command.eventId, applied))) {
          throw new CodedError('TELEMETRY_ERR_UNAVAILABLE', 'handled concurrently; retrying', { retriable: true });
        }
        return { duplicate: false, reply: applied };
      });
      ctx.logger.info(
        { event: 'saga_command_handled', sagaId, step, type: command.type, duplicate, reply: reply?.type ?? null },
        duplicate ? 'saga command already handled; reply re-sent' : 'saga command handled',
      );
      if (reply) {
        await opts.producer.publish(opts.repliesTopic, [
          { key: command.data.deviceId, value: reply, headers: envelopeHeaders(reply) },
        ]);
      }
    },
  });
}
