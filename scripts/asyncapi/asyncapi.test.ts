import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AsyncAPIDocumentInterface } from '@asyncapi/parser';
import { fixtureMessage, type FixtureName } from '../../cdc/src/events/fixtures/messages';
import { loadMonitorConfig } from '../../cdc-monitor/src/config';
import { loadDeviceManagementConfig } from '../../extracted/device-management/src/config';
import {
  DEVICE_EVENT_TYPES,
  deviceDeleted,
  deviceRegistered,
  deviceSettingsChanged,
  deviceStatusChanged,
} from '../../extracted/device-management/src/domain/events';
import { SAMPLE_DEVICE } from '../../extracted/device-management/src/testing/sample-device';
import { deadLetterTopicOf, loadTelemetryConfig } from '../../extracted/telemetry/src/config';
import { COMMAND_CONTENT_TYPE, encodeCommands } from '../../extracted/telemetry/src/domain/command';
import { DLQ_HEADERS, deadLetterMessage, envelopeHeaders } from '../../packages/messaging/src';
import { messageValidators, parseAsyncApi } from '../../packages/messaging/src/asyncapi/document';
import { parse } from 'yaml';
import { sagaAsyncApi } from '../../extracted/device-management/src/saga/asyncapi-fragment';
import { CONNECTORS_DIR, TOPIC_PREFIX } from '../stack/connectors';

/**
 * Every topic the code uses, from the code's own defaults: Debezium's (connector config), device management's,
 * telemetry's and the CDC monitor's, with the dead-letter topics their consumers derive.
 */
function topicsOfTheCode(): string[] {
  const connector = JSON.parse(readFileSync(path.join(CONNECTORS_DIR, 'monolith-heating.json'), 'utf8')) as {
    config: Record<string, string>;
  };
  const prefix = connector.config['topic.prefix']!;
  expect(prefix).toBe(TOPIC_PREFIX);
  const cdc = connector.config['table.include.list']!.split(',').map((t) => `${prefix}.${t}`);
  const dm = loadDeviceManagementConfig({
    DATABASE_URL: 'postgres://x',
    KAFKA_BROKERS: 'k:9092',
    WRITE_BACK_ENABLED: 'false',
  });
  const telemetry = loadTelemetryConfig({ DATABASE_URL: 'postgres://x', KAFKA_BROKERS: 'k:9092' });
  const monitor = loadMonitorConfig({
    KAFKA_BROKERS: 'k:9092',
    MONITOR_TOKEN: 'x'.repeat(16),
    CONNECT_URL: 'http://c',
    MONOLITH_DATABASE_URL: 'postgres://x',
  });
  return [
    ...cdc,
    `__debezium-heartbeat.${prefix}`,
    ...monitor.CDC_TOPICS,
    dm.CDC_HEATING_TOPIC,
    dm.CDC_DEAD_LETTER_TOPIC ?? `${dm.CDC_HEATING_TOPIC}.dlq`,
    dm.DEVICE_EVENTS_TOPIC,
    `${dm.DEVICE_EVENTS_TOPIC}.dlq`, // the write-back worker's default dead-letter topic
    dm.SAGA_COMMANDS_TOPIC,
    `${dm.SAGA_COMMANDS_TOPIC}.dlq`, // telemetry's saga command consumer
    dm.SAGA_REPLIES_TOPIC,
    `${dm.SAGA_REPLIES_TOPIC}.dlq`, // device management's saga reply consumer
    telemetry.TELEMETRY_COMMAND_TOPIC,
    deadLetterTopicOf(telemetry),
    telemetry.CDC_HEATING_TOPIC,
    telemetry.CDC_SENSORS_TOPIC,
    // the telemetry CDC feed's default (extracted/telemetry/src/cdc/feed.ts)
    `${telemetry.CDC_HEATING_TOPIC}.telemetry.dlq`,
    `${telemetry.CDC_SENSORS_TOPIC}.telemetry.dlq`,
  ];
}

const device = SAMPLE_DEVICE;

describe('docs/asyncapi.yaml', () => {
  let document: AsyncAPIDocumentInterface;
  let validators: ReturnType<typeof messageValidators>;
  beforeAll(async () => {
    document = await parseAsyncApi();
    validators = messageValidators(document);
  }, 60_000);

  it('is a valid AsyncAPI 3 document (official parser, no error diagnostics)', () => {
    expect(document.version()).toMatch(/^3\./);
    expect(document.channels().length).toBeGreaterThan(0);
  });

  it('describes every topic the code uses, and no topic the code does not use', () => {
    const used = new Set(topicsOfTheCode());
    expect([...used].filter((t) => !validators.addresses.includes(t))).toEqual([]);
    expect(validators.addresses.filter((a) => !used.has(a))).toEqual([]);
  });

  it('names a producer for every channel and a consumer group for every consumer', () => {
    const sent = new Set(
      document
        .operations()
        .all()
        .filter((o) => o.action() === 'send')
        .flatMap((o) =>
          o
            .channels()
            .all()
            .map((c) => c.address()),
        ),
    );
    expect(validators.addresses.filter((a) => !sent.has(a))).toEqual([]);
    for (const op of document
      .operations()
      .all()
      .filter((o) => o.action() === 'receive')) {
      expect({ op: op.id(), groupId: op.bindings().get('kafka')?.value()?.groupId !== undefined }).toEqual({
        op: op.id(),
        groupId: true,
      });
    }
  });

  it('accepts the tombstone that follows a deleted heartbeat row (probe rows are deleted by tests and operators)', () => {
    expect(validators.problems('monolith.public.cdc_heartbeat', { key: { id: 4242 }, value: null, headers: {} })).toBe(
      undefined,
    );
  });

  it('holds the connect-device saga exactly as generated from its zod contract', () => {
    const text = readFileSync(path.resolve(__dirname, '..', '..', 'docs', 'asyncapi.yaml'), 'utf8');
    const written = parse(text) as Record<string, Record<string, unknown>>;
    const generated = JSON.parse(JSON.stringify(sagaAsyncApi)) as Record<string, Record<string, unknown>>;
    for (const part of ['channels', 'operations'] as const) {
      for (const [name, value] of Object.entries(generated[part]!)) {
        expect({ [part]: name, value: written[part]![name] }).toEqual({ [part]: name, value });
      }
    }
    const messages = (written.components as { messages: Record<string, unknown> }).messages;
    for (const [name, value] of Object.entries((generated.components as { messages: object }).messages)) {
      expect({ message: name, value: messages[name] }).toEqual({ message: name, value });
    }
  });

  it.each<[FixtureName, string]>([
    ['snapshot-read-heating', 'monolith.public.heating_systems'],
    ['create-heating', 'monolith.public.heating_systems'],
    ['update-heating', 'monolith.public.heating_systems'],
    ['delete-heating', 'monolith.public.heating_systems'],
    ['update-sensor', 'monolith.public.temperature_sensors'],
    ['snapshot-read-sensor-last', 'monolith.public.temperature_sensors'],
    ['truncate-sensors', 'monolith.public.temperature_sensors'],
    ['heartbeat-update', 'monolith.public.cdc_heartbeat'],
  ])('the Debezium fixture %s matches its channel', (name, address) => {
    const m = fixtureMessage(name);
    const value = JSON.parse(String(m.value)) as unknown;
    const key = m.key === null ? null : (JSON.parse(String(m.key)) as unknown);
    expect(validators.problems(address, { key, value, headers: {} })).toBeUndefined();
  });

  it('rejects a change event whose row does not match the table', () => {
    const value = JSON.parse(String(fixtureMessage('update-heating').value)) as { after: Record<string, unknown> };
    value.after.is_on = 'yes';
    expect(validators.problems('monolith.public.heating_systems', { key: { id: 42 }, value, headers: {} })).toMatch(
      /is_on/,
    );
  });

  it('device events as built by device management match, with their outbox headers', () => {
    const ctx = { origin: 'device-management' as const, requestId: 'r-1' };
    const events = [
      deviceRegistered(device, ctx),
      deviceSettingsChanged(device, { on: false, targetTemperature: 21.5 }, ['on'], ctx),
      deviceDeleted({ ...device, status: 'deleted' }, ctx),
      deviceStatusChanged(device, 'pending', ctx),
      deviceStatusChanged(
        { ...device, status: 'failed', failureReason: 'no first reading within 60 s' },
        'pending',
        ctx,
      ),
    ];
    // every type the code can emit is checked here (its event-type header is in the document's enum)
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(DEVICE_EVENT_TYPES));
    for (const event of events) {
      const headers = { ...envelopeHeaders({ ...event, source: 'device-management' }), origin: event.origin };
      const value = JSON.parse(JSON.stringify(event)) as unknown;
      expect(
        validators.problems('device-management.device-events', { key: device.id, value, headers }),
      ).toBeUndefined();
      expect(
        validators.problems('device-management.device-events', {
          key: device.id,
          value: { ...(value as object), undocumented: 1 },
          headers,
        }),
      ).toMatch(/additional/);
    }
  });

  it('command-log records as encoded by telemetry match', () => {
    const [record] = encodeCommands([
      {
        deviceId: 'dev-1',
        metric: 'temperature',
        value: 21.5,
        unit: 'C',
        measuredAt: new Date('2026-01-01T00:00:00Z'),
        source: 'api',
        idempotencyKey: 'k-1',
      },
    ]);
    expect(
      validators.problems('telemetry.readings.v1', {
        key: record!.key,
        value: JSON.parse(record!.value) as unknown,
        headers: { 'content-type': COMMAND_CONTENT_TYPE, 'x-request-id': 'r-1' },
      }),
    ).toBeUndefined();
  });

  it('dead letters as written by the consumer error policy match every .dlq channel', () => {
    const m = fixtureMessage('malformed-bad-row');
    const dead = deadLetterMessage(m, 'malformed', new Error('bad row'), 'some-group');
    const headers = Object.fromEntries(Object.entries(dead.headers ?? {}).map(([k, v]) => [k, String(v)]));
    expect(headers[DLQ_HEADERS.reason]).toBe('malformed');
    for (const address of validators.addresses.filter((a) => a.endsWith('.dlq'))) {
      expect(
        validators.problems(address, { key: { id: 45 }, value: JSON.parse(String(dead.value)), headers }),
      ).toBeUndefined();
    }
  });
});
