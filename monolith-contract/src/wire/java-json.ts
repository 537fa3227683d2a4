/**
 * How the production monolith (Java, Jackson) reads and writes numbers and booleans.
 * The stand-in must match it byte for byte, so these rules are reproduced exactly, quirks included.
 */

/** Java's Double.toString: `20.0`, `22.5`, `1.0E7`, `1.0E-4`, `-0.0`. Jackson writes NaN/Infinity as strings. */
export function javaDouble(value: number): string {
  if (Number.isNaN(value)) return '"NaN"';
  if (value === Infinity) return '"Infinity"';
  if (value === -Infinity) return '"-Infinity"';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(value);
  const sign = value < 0 ? '-' : '';
  if (abs >= 1e-3 && abs < 1e7) {
    const plain = abs.toString(); // JS gives the shortest round-tripping digits, as Java 19+ does
    return sign + (plain.includes('.') ? plain : `${plain}.0`);
  }
  const [mantissa, exponent] = abs.toExponential().split('e') as [string, string];
  const m = mantissa.includes('.') ? mantissa : `${mantissa}.0`;
  return `${sign}${m}E${Number(exponent)}`;
}

const JAVA_DOUBLE = /^[+-]?(NaN|Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[fFdD]?)$/;

/** Java's Double.valueOf on a request parameter (Spring's String→Double conversion); undefined when it would throw. */
export function parseJavaDouble(text: string): number | undefined {
  const trimmed = text.trim();
  if (!JAVA_DOUBLE.test(trimmed)) return undefined;
  const core = trimmed.replace(/[fFdD]$/, '');
  if (/NaN$/.test(core)) return NaN;
  if (/Infinity$/.test(core)) return core.startsWith('-') ? -Infinity : Infinity;
  return Number(core);
}

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/** Java's Long.parseLong for a path variable; undefined on NumberFormatException. */
export function parseJavaLong(text: string): bigint | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const value = BigInt(text);
  return value < LONG_MIN || value > LONG_MAX ? undefined : value;
}

export class JacksonCoercionError extends Error {}

/** Jackson's default coercion into a primitive `boolean` (null and "" → false, ints: 0 → false, else true). */
export function coerceBoolean(value: unknown, field: string): boolean {
  if (value === null || value === undefined || value === '') return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return value !== 0;
  if (typeof value === 'string' && ['true', 'True', 'TRUE'].includes(value)) return true;
  if (typeof value === 'string' && ['false', 'False', 'FALSE'].includes(value)) return false;
  throw new JacksonCoercionError(
    `Cannot deserialize value of type \`boolean\` from ${JSON.stringify(value)} (field ${field})`,
  );
}

/** Jackson's default coercion into a primitive `double` (null and "" → 0.0, numeric strings parsed). */
export function coerceDouble(value: unknown, field: string): number {
  if (value === null || value === undefined || value === '') return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const parsed = parseJavaDouble(value);
    if (parsed !== undefined) return parsed;
  }
  throw new JacksonCoercionError(
    `Cannot deserialize value of type \`double\` from ${JSON.stringify(value)} (field ${field})`,
  );
}

/** Jackson's coercion into a boxed `Long` (the DTO's id is type-checked although it is ignored). */
export function coerceLong(value: unknown, field: string): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'number' && Number.isInteger(value)) return;
  if (typeof value === 'string' && (value === '' || parseJavaLong(value) !== undefined)) return;
  throw new JacksonCoercionError(
    `Cannot deserialize value of type \`java.lang.Long\` from ${JSON.stringify(value)} (field ${field})`,
  );
}
