import { CodedError } from '@warmhouse/shared';
import { fixtureMessage, fixtureText, tombstoneMessage, type FixtureName } from './fixtures/messages';
import { parseChangeEvent, type ChangeEvent, type SourceMessage } from './parse';
import { monolithTables } from './tables';

function change(message: SourceMessage) {
  const parsed = parseChangeEvent(message, monolithTables);
  if (parsed.kind !== 'change') throw new Error(`expected a change, got ${parsed.kind}`);
  return parsed.event;
}

function malformedReason(message: SourceMessage, typed = true): string {
  try {
    if (typed) parseChangeEvent(message, monolithTables);
    else parseChangeEvent(message);
  } catch (err) {
    expect(err).toBeInstanceOf(CodedError);
    const coded = err as CodedError;
    expect(coded.code).toBe('CDC_ERR_EVENT_MALFORMED');
    expect(coded.retriable).toBe(false);
    expect(coded.options.details).toMatchObject({
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
    });
    return String(coded.options.details?.reason);
  }
  throw new Error('expected CDC_ERR_EVENT_MALFORMED');
}

describe('parseChangeEvent', () => {
  it('reads a snapshot read of heating_systems', () => {
    const event = change(fixtureMessage('snapshot-read-heating', { offset: '17', partition: 2 }));
    expect(event).toMatchObject({
      op: 'r',
      key: { id: 1 },
      before: null,
      after: { id: 1, is_on: true, target_temperature: 21.5, current_temperature: 19.25 },
      lsn: 24023128n,
      txId: 747,
      sourceTsMs: 1764064800000,
      connectorTsMs: 1764064800412,
      snapshot: true,
      table: 'public.heating_systems',
      topic: 'monolith.public.heating_systems',
      partition: 2,
      offset: '17',
    });
    expect(event.source.sequence).toBe('[null,"24023128"]');
  });

  it('turns "last" into snapshot=true and the sensor timestamp (µs) into a Date', () => {
    const event = change(fixtureMessage('snapshot-read-sensor-last'));
    expect(event.snapshot).toBe(true);
    expect(event.table).toBe('public.temperature_sensors');
    if (event.table !== 'public.temperature_sensors') throw new Error('narrowing');
    expect(event.after?.last_updated).toEqual(new Date('2025-11-25T09:59:10.123Z'));
  });

  it.each<[FixtureName, string, boolean, boolean]>([
    ['create-heating', 'c', false, true],
    ['update-heating', 'u', true, true],
    ['delete-heating', 'd', true, false],
  ])('reads %s: op %s, before %s, after %s, not a snapshot', (name, op, hasBefore, hasAfter) => {
    const event = change(fixtureMessage(name));
    expect(event.op).toBe(op);
    expect(event.before !== null).toBe(hasBefore);
    expect(event.after !== null).toBe(hasAfter);
    expect(event.snapshot).toBe(false);
    expect(event.key).toEqual({ id: 42 });
  });

  it('gives full before and after images on update', () => {
    const event = change(fixtureMessage('update-heating'));
    expect(event.before).toEqual({ id: 42, is_on: false, target_temperature: 20, current_temperature: 17.5 });
    expect(event.after).toEqual({ id: 42, is_on: true, target_temperature: 22.5, current_temperature: 17.5 });
    expect(event.lsn).toBe(24025904n);
  });

  it('reads heartbeat-table events with beat_at as a Date', () => {
    const event = change(fixtureMessage('heartbeat-update'));
    expect(event.table).toBe('public.cdc_heartbeat');
    expect(event.after).toEqual({ id: 1, beat_at: new Date('2025-11-25T10:01:20.415Z') });
  });

  it('reads a truncate: no key, no rows', () => {
    const event = change(fixtureMessage('truncate-sensors'));
    expect(event).toMatchObject({ op: 't', key: null, before: null, after: null, table: 'public.temperature_sensors' });
  });

  it('keeps an LSN beyond 2^53 exact', () => {
    expect(change(fixtureMessage('create-heating-huge-lsn')).lsn).toBe(9223372036854775000n);
  });

  it('reports a tombstone as its own kind, with its key', () => {
    expect(parseChangeEvent(tombstoneMessage(42, { offset: '9' }), monolithTables)).toEqual({
      kind: 'tombstone',
      topic: 'monolith.public.heating_systems',
      partition: 0,
      offset: '9',
      key: { id: 42 },
    });
  });

  it('without table specs, returns plain JSON rows', () => {
    const parsed = parseChangeEvent(fixtureMessage('update-sensor'));
    if (parsed.kind !== 'change') throw new Error('expected a change');
    const event: ChangeEvent = parsed.event;
    expect(event.after).toEqual({ id: 7, current_temperature: 19, last_updated: 1764064875000001 });
  });

  it('unwraps a {schema, payload} message from a worker that embeds schemas', () => {
    const wrapped = `{"schema": {"type": "struct"}, "payload": ${fixtureText('update-heating')}}`;
    expect(change(fixtureMessage('update-heating', { value: Buffer.from(wrapped) })).op).toBe('u');
  });

  describe('malformed messages name the reason', () => {
    const base = fixtureMessage('update-heating', { offset: '123' });
    const withValue = (value: string): SourceMessage => ({ ...base, value: Buffer.from(value) });
    const edit = (mutate: (v: Record<string, unknown>) => void) => {
      const v = JSON.parse(fixtureText('update-heating')) as Record<string, unknown>;
      mutate(v);
      return withValue(JSON.stringify(v));
    };

    it.each<[string, SourceMessage, RegExp]>([
      ['not JSON', withValue('{"op": "u", '), /^value is not valid JSON/],
      ['empty value', withValue(''), /value is empty/],
      ['a key that is not JSON', { ...base, key: Buffer.from('id=42') }, /^key is not valid JSON/],
      ['source.lsn missing', fixtureMessage('malformed-missing-lsn'), /source\.lsn: /],
      ['unknown op', edit((v) => (v.op = 'x')), /^op: /],
      [
        'snapshot as a boolean',
        edit((v) => ((v.source as Record<string, unknown>).snapshot = true)),
        /source\.snapshot/,
      ],
      ['update without after', edit((v) => (v.after = null)), /^after: op "u" needs an after image/],
      ['delete with an after image', edit((v) => (v.op = 'd')), /^after: op "d" must not have an after image/],
      ['create with a before image', edit((v) => (v.op = 'c')), /^before: op "c" must not have a before image/],
      ['a row of wrong types', fixtureMessage('malformed-bad-row'), /after\.is_on: .*after\.target_temperature: /],
      ['a key of the wrong shape', { ...base, key: Buffer.from('{"uuid":"x"}') }, /^key\.id: /],
      [
        'an id that is not a number',
        edit((v) => ((v.after as Record<string, unknown>).id = '§')),
        /after\.id: expected an integer/,
      ],
      [
        'a table the consumer does not know',
        edit((v) => ((v.source as Record<string, unknown>).table = 'boilers')),
        /table public\.boilers is not one of public\.heating_systems/,
      ],
    ])('%s', (_name, message, reason) => {
      expect(malformedReason(message)).toMatch(reason);
    });

    it('rejects an integer id beyond 2^53 instead of rounding it', () => {
      const text = fixtureText('update-heating').replace(
        '"id": 42, "is_on": true',
        '"id": 9007199254740993, "is_on": true',
      );
      expect(malformedReason(withValue(text))).toMatch(/after\.id: integer 9007199254740993 exceeds 2\^53/);
    });

    it('puts topic, partition and offset in the message', () => {
      expect(() => parseChangeEvent(withValue('nope'))).toThrow(
        /^monolith\.public\.heating_systems\[0\]@123: value is not valid JSON/,
      );
    });
  });
});
