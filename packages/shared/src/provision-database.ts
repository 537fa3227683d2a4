import { Client } from 'pg';
import { runMigrations } from './migrate';

export interface RoleSpec {
  user: string;
  password: string;
}

/** Advisory lock key serialising {@link ensureDatabase} across processes (replicas prepared together). */
export const ENSURE_DATABASE_LOCK = 4_711_001;

/**
 * Creates a login role and a database it owns (idempotent); nobody else may connect to that database. Processes
 * doing it at once wait for each other (a session advisory lock), so the second one finds both already there.
 */
export async function ensureDatabase(superuserUrl: string, database: string, owner: RoleSpec): Promise<void> {
  const client = new Client({ connectionString: superuserUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [ENSURE_DATABASE_LOCK]);
    const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
    const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [owner.user]);
    await client.query(
      `${exists.rowCount ? 'ALTER' : 'CREATE'} ROLE "${owner.user}" WITH LOGIN PASSWORD ${lit(owner.password)}`,
    );
    const db = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!db.rowCount) await client.query(`CREATE DATABASE "${database}" OWNER "${owner.user}"`);
    await client.query(`REVOKE ALL ON DATABASE "${database}" FROM PUBLIC`);
    await client.query(`GRANT ALL ON DATABASE "${database}" TO "${owner.user}"`);
  } finally {
    await client.end();
  }
}

/** The same server as `serverUrl`, another database and role. */
export function databaseUrl(serverUrl: string, database: string, role: RoleSpec): string {
  const url = new URL(serverUrl);
  url.username = encodeURIComponent(role.user);
  url.password = encodeURIComponent(role.password);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/**
 * A component's own database, ready to use: its owner role and database created (idempotent), then
 * `migrations/<migrations>/` applied as that role. Returns the component's connection URL. Needs a superuser
 * connection; the component itself never has one (for `npm start`, the tests, and the chart's migration job).
 */
export async function prepareComponentDatabase({
  superuserUrl,
  database,
  role,
  migrations,
}: {
  superuserUrl: string;
  database: string;
  role: RoleSpec;
  migrations: string;
}): Promise<string> {
  await ensureDatabase(superuserUrl, database, role);
  const url = databaseUrl(superuserUrl, database, role);
  await runMigrations(migrations, url);
  return url;
}

/**
 * The prepare function of one component's database (see prepareComponentDatabase): `(superuserUrl, role,
 * { database })` creates its role and database (`defaults.database` unless named), applies its migrations and
 * returns its URL.
 */
export function componentDatabase(defaults: { database: string; migrations: string }) {
  return (superuserUrl: string, role: RoleSpec, { database = defaults.database }: { database?: string } = {}) =>
    prepareComponentDatabase({ superuserUrl, database, role, migrations: defaults.migrations });
}
