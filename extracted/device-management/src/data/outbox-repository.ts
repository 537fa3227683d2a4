import { envelopeHeaders, type Envelope } from '@warmhouse/messaging';
import { DEVICE_EVENTS_SOURCE, type DeviceEvent } from '../domain/events';
import type { SettingField, Settings } from '../domain/device';
import type { Queryable } from '@warmhouse/shared';

/** Channel the outbox relay LISTENs on; NOTIFY is delivered only when the writing transaction commits. */
export const OUTBOX_CHANNEL = 'device_outbox';

export interface OutboxRow {
  id: string;
  eventId: string;
  aggregateId: string;
  eventType: string;
  payload: DeviceEvent | (Envelope & Record<string, unknown>);
  headers: Record<string, string>;
  /** null: the device events topic */
  topic: string | null;
}

/** The standard headers (event-id, event-type, schema-version, source, x-request-id) plus the change's origin. */
const headersOf = (event: DeviceEvent): Record<string, string> => ({
  ...envelopeHeaders({ ...event, source: event.source ?? DEVICE_EVENTS_SOURCE }),
  origin: event.origin,
});

export const outboxRepository = {
  /** Records `event` in the transaction of the change it describes. */
  async add(db: Queryable, event: DeviceEvent): Promise<void> {
    await db.query(
      `INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, payload, headers)
       VALUES ($1, 'device', $2, $3, $4, $5)`,
      [event.eventId, event.deviceId, event.type, JSON.stringify(event), JSON.stringify(headersOf(event))],
    );
    await db.query(`SELECT pg_notify($1, '')`, [OUTBOX_CHANNEL]);
  },

  /** Records `events`, in this order (outbox ids follow it), and notifies the relay: one statement. */
  async addAll(db: Queryable, events: readonly DeviceEvent[]): Promise<void> {
    if (events.length === 0) return;
    await db.query(
      `WITH added AS (
         INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, payload, headers)
         SELECT e.event_id, 'device', e.aggregate_id, e.event_type, e.payload, e.headers
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[], $5::jsonb[]) WITH ORDINALITY
           AS e(event_id, aggregate_id, event_type, payload, headers, n)
         ORDER BY e.n
         RETURNING 1)
       SELECT pg_notify($6, '') FROM (SELECT count(*) AS n FROM added) a WHERE a.n > 0`,
      [
        events.map((e) => e.eventId),
        events.map((e) => e.deviceId),
        events.map((e) => e.type),
        events.map((e) => JSON.stringify(e)),
        events.map((e) => JSON.stringify(headersOf(e))),
        OUTBOX_CHANNEL,
      ],
    );
  },

  /**
   * Records a message for another topic than the device events (a saga command) in the transaction of the state
   * change that sends it; keyed by `key` (the device id).
   */
  async addMessage(
    db: Queryable,
    m: { topic: string; key: string; aggregateType: string; message: Envelope & Record<string, unknown> },
  ): Promise<void> {
    await db.query(
      `INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, payload, headers, topic)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        m.message.eventId,
        m.aggregateType,
        m.key,
        m.message.type,
        JSON.stringify(m.message),
        JSON.stringify(envelopeHeaders(m.message)),
        m.topic,
      ],
    );
    await db.query(`SELECT pg_notify($1, '')`, [OUTBOX_CHANNEL]);
  },

  /**
   * The oldest unpublished rows, in id order, locked until the batch commits. Not SKIP LOCKED: a relay that finds
   * rows locked waits for them instead of publishing later ones first (only one relay is active anyway, see
   * outbox/relay.ts; this keeps the order during a hand-over too).
   */
  async lockBatch(db: Queryable, limit: number): Promise<OutboxRow[]> {
    const { rows } = await db.query<{
      id: string;
      event_id: string;
      aggregate_id: string;
      event_type: string;
      payload: OutboxRow['payload'];
      headers: Record<string, string>;
      topic: string | null;
    }>(
      `SELECT id, event_id, aggregate_id, event_type, payload, headers, topic FROM outbox
       WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE`,
      [limit],
    );
    return rows.map((r) => ({
      id: r.id,
      eventId: r.event_id,
      aggregateId: r.aggregate_id,
      eventType: r.event_type,
      payload: r.payload,
      headers: r.headers,
      topic: r.topic,
    }));
  },

  async markPublished(db: Queryable, ids: string[]): Promise<void> {
    await db.query(`UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])`, [ids]);
  },

  async backlog(db: Queryable): Promise<{ count: number; oldestAgeSeconds: number }> {
    const { rows } = await db.query<{ n: string; age: number | null }>(
      `SELECT count(*) AS n, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS age FROM outbox WHERE published_at IS NULL`,
    );
    return { count: Number(rows[0]?.n ?? 0), oldestAgeSeconds: rows[0]?.age ?? 0 };
  },
};

export type WriteBackState = 'pending' | 'applied' | 'echoed' | 'no_change' | 'superseded';

/** A local change of a legacy device as it is recorded, before the write-back worker has seen it. */
export interface NewWriteBack {
  eventId: string;
  deviceId: string;
  legacyId: bigint;
  deviceVersion: number;
  fields: SettingField[];
  settings: Settings;
}

export interface WriteBack extends NewWriteBack {
  state: WriteBackState;
  monolithTxid: bigint | null;
  /** full 64-bit id of that monolith transaction (txid_status), null before it */
  monolithXact: bigint | null;
}

interface WriteBackRow {
  event_id: string;
  device_id: string;
  legacy_id: string;
  device_version: number;
  fields: SettingField[];
  is_on: boolean | null;
  target_temperature: number | null;
  state: WriteBackState;
  monolith_txid: string | null;
  monolith_xact: string | null;
}

const toWriteBack = (r: WriteBackRow): WriteBack => ({
  eventId: r.event_id,
  deviceId: r.device_id,
  legacyId: BigInt(r.legacy_id),
  deviceVersion: r.device_version,
  fields: r.fields,
  settings: { on: r.is_on, targetTemperature: r.target_temperature },
  state: r.state,
  monolithTxid: r.monolith_txid === null ? null : BigInt(r.monolith_txid),
  monolithXact: r.monolith_xact === null ? null : BigInt(r.monolith_xact),
});

const WB_COLUMNS =
  'event_id, device_id, legacy_id, device_version, fields, is_on, target_temperature, state, monolith_txid, monolith_xact';

/** The `write_backs` table: local changes of legacy devices on their way to the monolith, and their echoes. */
export const writeBackRepository = {
  async add(db: Queryable, w: NewWriteBack): Promise<void> {
    await db.query(
      `INSERT INTO write_backs (event_id, device_id, legacy_id, device_version, fields, is_on, target_temperature)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        w.eventId,
        w.deviceId,
        w.legacyId.toString(),
        w.deviceVersion,
        w.fields,
        w.settings.on,
        w.settings.targetTemperature,
      ],
    );
  },

  /** `forUpdate`: locked until the caller's transaction ends (concurrent deliveries of one event wait here). */
  async find(db: Queryable, eventId: string, { forUpdate = false } = {}): Promise<WriteBack | undefined> {
    const { rows } = await db.query<WriteBackRow>(
      `SELECT ${WB_COLUMNS} FROM write_backs WHERE event_id = $1 ${forUpdate ? 'FOR UPDATE' : ''}`,
      [eventId],
    );
    return rows[0] && toWriteBack(rows[0]);
  },

  /** Write-backs of a legacy device whose echo has not come back yet (pending or applied). */
  async inFlight(db: Queryable, legacyId: bigint): Promise<WriteBack[]> {
    const { rows } = await db.query<WriteBackRow>(
      `SELECT ${WB_COLUMNS} FROM write_backs WHERE legacy_id = $1 AND state IN ('pending', 'applied') ORDER BY created_at`,
      [legacyId.toString()],
    );
    return rows.map(toWriteBack);
  },

  /**
   * The outcome of a write-back, committed before the monolith transaction commits (so its CDC echo can never arrive
   * unrecognised): its monolith transaction (low 32 bits for echo recognition, the full id for txid_status) and
   * whether that transaction changed the row.
   */
  async recordApplied(db: Queryable, w: { eventId: string; xact: bigint; changedRow: boolean }): Promise<void> {
    await db.query(
      `UPDATE write_backs SET monolith_txid = $2, monolith_xact = $3, state = $4, applied_at = now() WHERE event_id = $1`,
      [w.eventId, (w.xact % 4294967296n).toString(), w.xact.toString(), w.changedRow ? 'applied' : 'no_change'],
    );
  },

  /** Refused by the version guard: a newer change of every one of its fields was already written back. */
  async markSuperseded(db: Queryable, eventId: string): Promise<void> {
    await db.query(`UPDATE write_backs SET state = 'superseded' WHERE event_id = $1`, [eventId]);
  },

  /** The device version last written back per field of `deviceId`, locked until the transaction ends. */
  async appliedVersions(db: Queryable, deviceId: string, fields: SettingField[]): Promise<Map<SettingField, number>> {
    const { rows } = await db.query<{ field: SettingField; device_version: number }>(
      `SELECT field, device_version FROM write_back_versions WHERE device_id = $1 AND field = ANY($2) FOR UPDATE`,
      [deviceId, fields],
    );
    return new Map(rows.map((r) => [r.field, r.device_version]));
  },

  /** Records `deviceVersion` as written back for `fields` (never lowers a version). */
  async recordVersions(
    db: Queryable,
    w: { deviceId: string; deviceVersion: number; eventId: string; fields: SettingField[] },
  ): Promise<void> {
    await db.query(
      `INSERT INTO write_back_versions (device_id, field, device_version, event_id)
       SELECT $1, f, $2, $3 FROM unnest($4::text[]) AS f
       ON CONFLICT (device_id, field) DO UPDATE
         SET device_version = EXCLUDED.device_version, event_id = EXCLUDED.event_id, updated_at = now()
         WHERE write_back_versions.device_version <= EXCLUDED.device_version`,
      [w.deviceId, w.deviceVersion, w.eventId, w.fields],
    );
  },

  async markEchoed(db: Queryable, eventIds: string[], position: string): Promise<void> {
    await db.query(
      `UPDATE write_backs SET state = 'echoed', echoed_at = now(), echo_position = $2::pg_lsn
       WHERE event_id = ANY($1::uuid[]) AND state IN ('pending', 'applied')`,
      [eventIds, position],
    );
  },

  /** The write-backs in flight of several heating systems, oldest first. */
  async inFlightOf(db: Queryable, legacyIds: readonly bigint[]): Promise<WriteBack[]> {
    const { rows } = await db.query<WriteBackRow>(
      `SELECT ${WB_COLUMNS} FROM write_backs
       WHERE legacy_id = ANY($1::bigint[]) AND state IN ('pending', 'applied') ORDER BY created_at`,
      [legacyIds.map(String)],
    );
    return rows.map(toWriteBack);
  },

  /** {@link markEchoed} for several changes at once, each echo with the position of the change that echoed it. */
  async markEchoedAll(db: Queryable, echoes: ReadonlyArray<{ eventIds: string[]; position: string }>): Promise<void> {
    const pairs = echoes.flatMap((e) => e.eventIds.map((id) => [id, e.position] as const));
    if (pairs.length === 0) return;
    await db.query(
      `UPDATE write_backs w SET state = 'echoed', echoed_at = now(), echo_position = v.position::pg_lsn
       FROM unnest($1::uuid[], $2::text[]) AS v(event_id, position)
       WHERE w.event_id = v.event_id AND w.state IN ('pending', 'applied')`,
      [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
    );
  },

  async inFlightSummary(db: Queryable): Promise<{ count: number; oldestAgeSeconds: number }> {
    const { rows } = await db.query<{ n: string; age: number | null }>(
      `SELECT count(*) AS n, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS age
       FROM write_backs WHERE state IN ('pending', 'applied')`,
    );
    return { count: Number(rows[0]?.n ?? 0), oldestAgeSeconds: rows[0]?.age ?? 0 };
  },
};
