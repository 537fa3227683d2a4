import { z } from 'zod';
import { checkedMessage, createEnvelope, envelopeSchema, messageSchema, parseMessage } from './envelope';
import { envelopeHeaders } from './producer';

const sample = messageSchema('device.connect-requested', 1, { data: z.object({ deviceId: z.string() }) });

describe('message envelope', () => {
  const envelope = createEnvelope({
    type: 'device.connect-requested',
    schemaVersion: 1,
    source: 'device-management',
    requestId: 'req-1',
    now: new Date('2026-01-02T03:04:05.678Z'),
  });

  it('carries event id, type, version, occurred-at, request id and source', () => {
    expect(envelopeSchema.parse(envelope)).toEqual({
      eventId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: 'device.connect-requested',
      schemaVersion: 1,
      occurredAt: '2026-01-02T03:04:05.678Z',
      requestId: 'req-1',
      source: 'device-management',
    });
    expect(createEnvelope({ type: 'a.b', schemaVersion: 1, source: 's' }).requestId).toBeNull();
  });

  it('puts the same facts in the standard Kafka headers', () => {
    expect(envelopeHeaders(envelope)).toEqual({
      'event-id': envelope.eventId,
      'event-type': 'device.connect-requested',
      'schema-version': '1',
      source: 'device-management',
      'x-request-id': 'req-1',
    });
    expect(envelopeHeaders({ ...envelope, requestId: null })).not.toHaveProperty('x-request-id');
  });

  it('refuses to publish a message that does not match its schema', () => {
    expect(() => checkedMessage(sample, { ...envelope, data: {} })).toThrow(
      expect.objectContaining({ code: 'MESSAGE_ERR_INVALID' }),
    );
    expect(checkedMessage(sample, { ...envelope, data: { deviceId: 'd1' } }).data.deviceId).toBe('d1');
  });

  it.each([
    ['not JSON', '{"eventId":'],
    ['another version', JSON.stringify({ ...envelope, schemaVersion: 2, data: { deviceId: 'd' } })],
    ['a missing field', JSON.stringify({ ...envelope, data: {} })],
    ['a bad type name', JSON.stringify({ ...envelope, type: 'Device Connect', data: { deviceId: 'd' } })],
  ])('reads %s as malformed (dead-letter it), naming what is wrong', (_what, raw) => {
    expect(() => parseMessage(sample, Buffer.from(raw))).toThrow(
      expect.objectContaining({ code: 'MESSAGE_ERR_MALFORMED', retriable: false }),
    );
  });

  it('ignores unknown fields (additive changes within a version)', () => {
    const raw = JSON.stringify({ ...envelope, data: { deviceId: 'd', added: 1 }, addedLater: true });
    expect(parseMessage(sample, raw)).toMatchObject({ data: { deviceId: 'd' } });
  });
});
