/**
 * A PostgreSQL log sequence number as an unsigned 64-bit integer. Debezium writes it as a JSON number
 * (`source.lsn`); PostgreSQL shows it as two hex halves, `16/B374D848`. Kept as `bigint` so comparisons are exact
 * at any WAL size (a `number` is exact only up to 2^53 bytes of WAL).
 */
export type Lsn = bigint;

const TEXT_LSN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** Parses PostgreSQL's text form (`pg_lsn`, e.g. from `pg_replication_slots`) into an {@link Lsn}. */
export function parseLsn(text: string): Lsn {
  const m = TEXT_LSN.exec(text);
  if (!m) throw new RangeError(`not a PostgreSQL LSN: ${JSON.stringify(text)}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/** Formats an {@link Lsn} the way PostgreSQL prints it, so it can be passed to SQL as a `pg_lsn`. */
export function formatLsn(lsn: Lsn): string {
  if (lsn < 0n || lsn > 0xffff_ffff_ffff_ffffn) throw new RangeError(`LSN out of range: ${lsn}`);
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffff_ffffn).toString(16).toUpperCase()}`;
}
