/** A heating system as the monolith's entity holds it (what the DTO is written from). */
export interface HeatingSystemRecord {
  id: bigint;
  isOn: boolean;
  targetTemperature: number;
  /** Held by the entity, never written: the monolith's entity→DTO conversion does not copy it. */
  currentTemperature?: number;
}
import { coerceBoolean, coerceDouble, coerceLong, javaDouble, JacksonCoercionError } from './java-json';

/**
 * The monolith's HeatingSystemDto as Jackson writes it: field order id, targetTemperature, currentTemperature, on.
 * `currentTemperature` is always 0.0 because the monolith's entity→DTO conversion never copies it.
 */
export function heatingSystemJson(row: HeatingSystemRecord): string {
  return `{"id":${row.id},"targetTemperature":${javaDouble(row.targetTemperature)},"currentTemperature":0.0,"on":${row.isOn}}`;
}

export interface HeatingSettings {
  isOn: boolean;
  targetTemperature: number;
  /** Held by the entity, never written: the monolith's entity→DTO conversion does not copy it. */
  currentTemperature?: number;
}

/**
 * Reads a PUT body the way Jackson binds it to the DTO: unknown properties (including `isOn`) are ignored,
 * missing `on` → false, missing `targetTemperature` → 0.0, but every DTO field is type-checked.
 */
export function parseHeatingSettings(raw: string): HeatingSettings {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (err) {
    throw new JacksonCoercionError(`JSON parse error: ${(err as Error).message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new JacksonCoercionError('Cannot deserialize HeatingSystemDto from a non-object value');
  }
  const dto = body as Record<string, unknown>;
  coerceLong(dto.id, 'id');
  coerceDouble(dto.currentTemperature, 'currentTemperature');
  return {
    isOn: coerceBoolean(dto.on, 'on'),
    targetTemperature: coerceDouble(dto.targetTemperature, 'targetTemperature'),
  };
}
