import { z } from 'zod';

/**
 * Contract of `GET /cdc/applied`, served by every CDC-consuming service (no auth): per topic, the last change the
 * service has applied. The strangler proxy (CDC-aware reads) and the CDC monitor (heartbeat probe, freshness) read
 * it with this schema; the services build it to these types.
 */

/** Path every CDC-consuming service serves its applied positions at. */
export const CDC_APPLIED_PATH = '/cdc/applied';

const decimal = z.string().regex(/^\d{1,20}$/, 'must be a decimal string');

/** The last applied change of one topic. */
export const AppliedPositionSchema = z.object({
  /** `source.lsn` of the change, a decimal string (an unsigned 64-bit WAL position) */
  lsn: decimal,
  /** commit time of the change in the source database, ms since epoch */
  sourceTsMs: z.number().int().nonnegative(),
  /** when the service finished applying it, ms since epoch (the service's clock) */
  appliedAtMs: z.number().int().nonnegative(),
  partition: z.number().int().nonnegative(),
  /** Kafka offset of the change, a decimal string */
  offset: decimal,
});
export type AppliedPosition = z.output<typeof AppliedPositionSchema>;

/** The body of `GET /cdc/applied` (unknown fields are ignored). */
export const AppliedReportSchema = z.object({
  service: z.string(),
  topics: z.record(z.string(), AppliedPositionSchema),
});
export type AppliedReport = z.output<typeof AppliedReportSchema>;
