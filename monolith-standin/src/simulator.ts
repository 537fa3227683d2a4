import type { Pool } from 'pg';
import type { Logger } from 'pino';

/**
 * Stands in for the field hardware: thermostats and sensors write their readings straight into the monolith's
 * database (no endpoint does), which is what makes the monolith's CDC stream realistic.
 */
export interface FieldSimulator {
  /** One hardware write: a sensor reading or a thermostat's current temperature. */
  tick(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

const drift = (value: number) => Math.round((value + (Math.random() - 0.5) * 0.5) * 100) / 100;

export function createFieldSimulator({
  pool,
  ratePerSecond,
  logger,
}: {
  pool: Pool;
  ratePerSecond: number;
  logger: Logger;
}): FieldSimulator {
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  let writes = 0;
  let turn = 0;

  const tick = async () => {
    turn += 1;
    if (turn % 2 === 0) {
      await pool.query(
        `UPDATE temperature_sensors SET current_temperature = round((current_temperature + (random() - 0.5) * 0.5)::numeric, 2), last_updated = now()
         WHERE id = (SELECT id FROM temperature_sensors ORDER BY random() LIMIT 1)`,
      );
    } else {
      const { rows } = await pool.query<{ id: string; current_temperature: number }>(
        'SELECT id, current_temperature FROM heating_systems ORDER BY random() LIMIT 1',
      );
      const row = rows[0];
      if (row)
        await pool.query('UPDATE heating_systems SET current_temperature = $2 WHERE id = $1', [
          row.id,
          drift(row.current_temperature),
        ]);
    }
    writes += 1;
  };

  return {
    tick,
    start() {
      if (ratePerSecond <= 0 || timer) return;
      const intervalMs = Math.max(1, Math.round(1000 / ratePerSecond));
      timer = setInterval(() => {
        inFlight = inFlight
          .then(tick)
          .catch((err: unknown) => logger.warn({ err, event: 'simulator_write_failed' }, 'hardware write failed'));
      }, intervalMs);
      logger.info({ event: 'simulator_started', ratePerSecond }, `field simulator writing ${ratePerSecond} rows/s`);
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await inFlight;
      logger.info({ event: 'simulator_stopped', writes }, 'field simulator stopped');
    },
  };
}
