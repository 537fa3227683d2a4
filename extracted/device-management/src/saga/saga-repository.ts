import type { Queryable } from '@warmhouse/shared';
import type { DeviceType } from '../domain/device';
import type { ConnectSaga, SagaState, StepEntry, StepStatus, StepName } from './connect-saga';

interface SagaRow {
  id: string;
  device_id: string;
  device_type: DeviceType;
  state: SagaState;
  retention_days: number;
  first_reading_within_s: number;
  deadline_at: Date | null;
  failure_reason: string | null;
  compensation_attempts: number;
  request_id: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

/** A saga as stored, with its bookkeeping columns. */
export interface StoredSaga extends ConnectSaga {
  requestId: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export interface LoggedStep extends StepEntry {
  at: Date;
}

const toSaga = (r: SagaRow): StoredSaga => ({
  id: r.id,
  deviceId: r.device_id,
  deviceType: r.device_type,
  state: r.state,
  retentionDays: r.retention_days,
  firstReadingWithinSeconds: r.first_reading_within_s,
  deadlineAt: r.deadline_at,
  failureReason: r.failure_reason,
  compensationAttempts: r.compensation_attempts,
  requestId: r.request_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  finishedAt: r.finished_at,
});

/** SQL of `connect_sagas` and `connect_saga_steps`. */
export const sagaRepository = {
  async insert(db: Queryable, saga: ConnectSaga, requestId: string | null): Promise<void> {
    await db.query(
      `INSERT INTO connect_sagas (id, device_id, device_type, state, retention_days, first_reading_within_s,
         deadline_at, failure_reason, compensation_attempts, request_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        saga.id,
        saga.deviceId,
        saga.deviceType,
        saga.state,
        saga.retentionDays,
        saga.firstReadingWithinSeconds,
        saga.deadlineAt,
        saga.failureReason,
        saga.compensationAttempts,
        requestId,
      ],
    );
  },

  async find(db: Queryable, id: string, { forUpdate = false } = {}): Promise<StoredSaga | undefined> {
    const { rows } = await db.query<SagaRow>(
      `SELECT * FROM connect_sagas WHERE id = $1 ${forUpdate ? 'FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0] && toSaga(rows[0]);
  },

  async update(db: Queryable, saga: ConnectSaga): Promise<void> {
    await db.query(
      `UPDATE connect_sagas SET state = $2, deadline_at = $3, failure_reason = $4, compensation_attempts = $5,
         version = version + 1, updated_at = now(),
         finished_at = CASE WHEN $2 IN ('completed', 'failed') THEN now() ELSE NULL END
       WHERE id = $1`,
      [saga.id, saga.state, saga.deadlineAt, saga.failureReason, saga.compensationAttempts],
    );
  },

  async logSteps(db: Queryable, sagaId: string, steps: readonly StepEntry[]): Promise<void> {
    for (const s of steps) {
      await db.query(`INSERT INTO connect_saga_steps (saga_id, step, status, detail) VALUES ($1, $2, $3, $4)`, [
        sagaId,
        s.step,
        s.status,
        s.detail,
      ]);
    }
  },

  async steps(db: Queryable, sagaId: string): Promise<LoggedStep[]> {
    const { rows } = await db.query<{ step: StepName; status: StepStatus; detail: string | null; at: Date }>(
      `SELECT step, status, detail, at FROM connect_saga_steps WHERE saga_id = $1 ORDER BY id`,
      [sagaId],
    );
    return rows;
  },

  /** Ids of sagas past their deadline, most overdue first. */
  async due(db: Queryable, now: Date, limit: number): Promise<string[]> {
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM connect_sagas WHERE deadline_at <= $1 ORDER BY deadline_at LIMIT $2`,
      [now, limit],
    );
    return rows.map((r) => r.id);
  },

  /** Sagas not finished yet, per state (metrics). */
  async inFlight(db: Queryable): Promise<Record<string, number>> {
    const { rows } = await db.query<{ state: string; n: string }>(
      `SELECT state, count(*) AS n FROM connect_sagas WHERE deadline_at IS NOT NULL GROUP BY state`,
    );
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  },
};
