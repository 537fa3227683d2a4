import type { Pool } from 'pg';

export interface HeatingSystemRow {
  id: bigint;
  isOn: boolean;
  targetTemperature: number;
  currentTemperature: number;
}

interface DbRow {
  id: string;
  is_on: boolean;
  target_temperature: number;
  current_temperature: number;
}

const toRow = (r: DbRow): HeatingSystemRow => ({
  id: BigInt(r.id),
  isOn: r.is_on,
  targetTemperature: r.target_temperature,
  currentTemperature: r.current_temperature,
});

/**
 * Data access as the monolith's Spring Data JPA repository does it: read the entity, change it, save it.
 * `save` writes every column (Hibernate without @DynamicUpdate) and only when something changed,
 * so turning on a system that is already on produces no row change and no CDC event.
 */
export class HeatingRepository {
  constructor(private readonly pool: Pool) {}

  async findById(id: bigint): Promise<HeatingSystemRow | undefined> {
    const { rows } = await this.pool.query<DbRow>(
      'SELECT id, is_on, target_temperature, current_temperature FROM heating_systems WHERE id = $1',
      [id.toString()],
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  /** Applies `change` to the stored entity; undefined when the id does not exist. */
  async update(
    id: bigint,
    change: (current: HeatingSystemRow) => Pick<HeatingSystemRow, 'isOn' | 'targetTemperature'>,
  ): Promise<HeatingSystemRow | undefined> {
    const current = await this.findById(id);
    if (!current) return undefined;
    const next = { ...current, ...change(current) };
    const unchanged = next.isOn === current.isOn && Object.is(next.targetTemperature, current.targetTemperature);
    if (!unchanged) {
      await this.pool.query(
        'UPDATE heating_systems SET is_on = $2, target_temperature = $3, current_temperature = $4 WHERE id = $1',
        [id.toString(), next.isOn, next.targetTemperature, next.currentTemperature],
      );
    }
    return next;
  }
}
