import { z } from 'zod';
import { messageSchema } from '../envelope';

/**
 * Contract of the "connect a device" saga between device management (the orchestrator) and telemetry (the
 * participant that provisions devices and acts as the device gateway). Commands travel on
 * {@link CONNECT_SAGA_TOPICS.commands}, replies on {@link CONNECT_SAGA_TOPICS.replies}, both keyed by device id, so
 * one device's messages stay in order. Both sides parse with these schemas; each message names its saga and step,
 * which is what the receiver de-duplicates on.
 */
export const CONNECT_SAGA_TOPICS = Object.freeze({
  commands: 'device-management.saga.commands.v1',
  replies: 'telemetry.saga.replies.v1',
});

export const CONNECT_SAGA_VERSION = 1;

/** The participant steps a command asks for. */
export const CONNECT_SAGA_STEPS = ['provision', 'confirm-first-reading', 'deprovision'] as const;
export type ConnectSagaStep = (typeof CONNECT_SAGA_STEPS)[number];

const ids = {
  sagaId: z.uuid().describe('the saga; with `step` the receiver de-duplicates on it'),
  deviceId: z.uuid().describe('the device being connected (also the Kafka key)'),
};

/** A message of the saga: its type, the step it belongs to, and its fields beside the saga and device ids. */
function sagaMessage<T extends string, S extends ConnectSagaStep, F extends z.ZodRawShape>(
  type: T,
  step: S,
  fields: F,
) {
  return messageSchema(type, CONNECT_SAGA_VERSION, { data: z.object({ ...ids, step: z.literal(step), ...fields }) });
}

export const provisionDeviceCommand = sagaMessage('connect-device.provision-telemetry', 'provision', {
  deviceType: z.string().min(1).describe('device management device type, e.g. heating'),
  retentionDays: z.int().positive().describe('how long telemetry keeps the readings of this device'),
  ownerId: z
    .string()
    .min(1)
    .max(100)
    .nullable()
    .optional()
    .describe(
      'the subject that owns the device (X-Strangler-Subject of the connect request); only it and operators read its telemetry. Null or absent: nobody (operators only)',
    ),
});

export const confirmFirstReadingCommand = sagaMessage('connect-device.confirm-first-reading', 'confirm-first-reading', {
  deadline: z.iso.datetime({ offset: true }).describe('the orchestrator gives up (and compensates) after this'),
});

export const deprovisionDeviceCommand = sagaMessage('connect-device.deprovision-telemetry', 'deprovision', {
  reason: z.string().describe('why the saga compensates'),
  attempt: z.int().positive().describe('1, then 2, 3… when the orchestrator re-sends after a timeout'),
});

export const connectSagaCommandSchema = z.discriminatedUnion('type', [
  provisionDeviceCommand,
  confirmFirstReadingCommand,
  deprovisionDeviceCommand,
]);
export type ConnectSagaCommand = z.output<typeof connectSagaCommandSchema>;

export const deviceProvisionedReply = sagaMessage('connect-device.telemetry-provisioned', 'provision', {
  metrics: z.array(z.string()).min(1).describe('metrics telemetry now expects from the device'),
  retentionDays: z.int().positive(),
});

export const provisioningFailedReply = sagaMessage('connect-device.telemetry-provisioning-failed', 'provision', {
  reason: z.string().min(1).describe('why telemetry refused; nothing was provisioned'),
});

export const firstReadingReceivedReply = sagaMessage('connect-device.first-reading-received', 'confirm-first-reading', {
  measuredAt: z.iso.datetime({ offset: true }).describe('measuredAt of the first reading through the ingest API'),
});

export const deviceDeprovisionedReply = sagaMessage('connect-device.telemetry-deprovisioned', 'deprovision', {
  wasProvisioned: z.boolean().describe('false when there was nothing to undo'),
});

export const connectSagaReplySchema = z.discriminatedUnion('type', [
  deviceProvisionedReply,
  provisioningFailedReply,
  firstReadingReceivedReply,
  deviceDeprovisionedReply,
]);
export type ConnectSagaReply = z.output<typeof connectSagaReplySchema>;
