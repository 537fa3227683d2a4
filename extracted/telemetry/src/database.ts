import { prepareComponentDatabase, runMigrations } from '@warmhouse/shared';

export const TELEMETRY_DATABASE = 'telemetry';

/**
 * Creates (idempotently) the service's login role and its own database (`telemetry` unless named), then applies
 * migrations/telemetry as that role. Returns the service's connection URL.
 */
export function prepareTelemetryDatabase(
  superuserUrl: string,
  { database = TELEMETRY_DATABASE, ...role }: { user: string; password: string; database?: string },
): Promise<string> {
  return prepareComponentDatabase({ superuserUrl, database, role, migrations: 'telemetry' });
}

/** Applies the pending migrations of migrations/telemetry. */
export function migrateTelemetryDatabase(databaseUrl: string): Promise<string> {
  return runMigrations('telemetry', databaseUrl);
}
