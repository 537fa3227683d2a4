import { Pool } from 'pg';
import { readTestEndpoints } from '../../../test/stack-endpoints';
import { connectWorkerControl } from '../../../test/stack-control';
import { recordTopics } from '../../../test/support/topic-recorder';
import { waitFor } from '@warmhouse/shared';

interface Envelope {
  op: string;
  after: { id: number; target_temperature: number } | null;
}

/**
 * The Connect worker is stopped in the middle of a stream of updates; every update committed while it was down
 * must arrive once it is back (Debezium resumes from the slot's confirmed position).
 */
describe('Kafka Connect worker restart', () => {
  const endpoints = readTestEndpoints();
  const pool = new Pool({ connectionString: endpoints.postgres.monolithUrl, max: 2 });
  let id: number;

  beforeAll(async () => {
    const { rows } = await pool.query<{ id: string }>(
      'INSERT INTO heating_systems (is_on, target_temperature, current_temperature) VALUES (false, 0, 20) RETURNING id',
    );
    id = Number(rows[0]?.id);
  });
  afterAll(() => pool.end());

  it('loses no update made while the worker is down', async () => {
    const recorder = await recordTopics(endpoints.kafka.brokers, [endpoints.topics.heatingSystems]);
    const worker = connectWorkerControl();
    const seen = () =>
      new Set(
        recorder.messages
          .map((m) => m.value as Envelope | null)
          .filter((v) => v?.after?.id === id && v.op === 'u')
          .map((v) => v?.after?.target_temperature),
      );
    const update = (value: number) =>
      pool.query('UPDATE heating_systems SET target_temperature = $2 WHERE id = $1', [id, value]);
    try {
      for (let v = 1; v <= 20; v++) await update(v);
      await recorder.until('the updates before the stop', () => (seen().has(20) ? true : undefined));

      await worker.stop();
      for (let v = 21; v <= 60; v++) await update(v);
      await worker.start();
      await waitFor(
        'connector RUNNING again',
        async () => {
          const status = (await (
            await fetch(`${endpoints.connect.url}/connectors/${endpoints.connectorName}/status`)
          ).json()) as {
            tasks?: { state: string }[];
          };
          return status.tasks?.[0]?.state === 'RUNNING' ? true : undefined;
        },
        { timeoutMs: 90_000 },
      );
      for (let v = 61; v <= 70; v++) await update(v);

      await recorder.until(
        'every update, including those made while Connect was down',
        () => (seen().size === 70 ? true : undefined),
        90_000,
      );
      expect([...seen()].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(Array.from({ length: 70 }, (_, i) => i + 1));
    } finally {
      await recorder.stop();
    }
  });
});
