import type { Pool } from 'pg';

/** A few heating systems and sensors, written only into empty tables (a re-run changes nothing). */
export async function seedIfEmpty(pool: Pool): Promise<boolean> {
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM heating_systems');
  if (Number(rows[0]?.n) > 0) return false;
  await pool.query(`
    INSERT INTO heating_systems (is_on, target_temperature, current_temperature) VALUES
      (false, 20.0, 18.5), (true, 22.5, 21.0), (false, 19.0, 17.25), (true, 21.0, 20.5);
    INSERT INTO temperature_sensors (current_temperature, last_updated) VALUES
      (18.5, now()), (21.0, now()), (17.25, now()), (20.5, now());
  `);
  return true;
}
