import { z } from 'zod';

/** Path every CDC-consuming service serves its applied positions at (contract shared with @warmhouse/cdc). */
export const CDC_APPLIED_PATH = '/cdc/applied';

const decimal = z.string().regex(/^\d{1,20}$/, 'must be a decimal string');

/** One topic's last applied change, as a service reports it. */
export const AppliedPositionSchema = z.object({
  lsn: decimal,
  sourceTsMs: z.number().int().nonnegative(),
  appliedAtMs: z.number().int().nonnegative(),
  partition: z.number().int().nonnegative(),
  offset: decimal,
});

/** The body of `GET /cdc/applied` (unknown fields are ignored). */
export const AppliedReportSchema = z.object({
  service: z.string(),
  topics: z.record(z.string(), AppliedPositionSchema),
});

export type AppliedReport = z.output<typeof AppliedReportSchema>;
export type AppliedPosition = z.output<typeof AppliedPositionSchema>;
