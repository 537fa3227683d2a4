import { ensureDatabase, runMigrations } from '@warmhouse/shared';

export const TELEMETRY_DATABASE = 'telemetry';

/**
 * Creates (idempotently) the service's login role and its own database (`telemetry` unless named), then applies
 * migrations/telemetry as that role. Needs a superuser connection; the service itself never has one.
 * Returns the service's connection URL.
 */
export async function prepareTelemetryDatabase(
  superuserUrl: string,
  role: { user: string; password: string; database?: string },
): Promise<string> {
  const database = role.database ?? TELEMETRY_DATABASE;
  await ensureDatabase(superuserUrl, database, { user: role.user, password: role.password });
  const url = new URL(superuserUrl);
  url.username = encodeURIComponent(role.user);
  url.password = encodeURIComponent(role.password);
  url.pathname = `/${database}`;
  await migrateTelemetryDatabase(url.toString());
  return url.toString();
}

/** Applies the pending migrations of migrations/telemetry. */
export function migrateTelemetryDatabase(databaseUrl: string): Promise<string> {
  return runMigrations('telemetry', databaseUrl);
}
