import type { ReplicationProbe } from './replication-probe';
import type { Client } from 'pg';
import { CAPTURED_TABLES, HEARTBEAT_TABLE, PUBLICATION, SLOT } from '../runtime/prepare-source';
import { LEDGER_TABLE } from './ledger';

/** What the CDC source must provide, by name (the connector config's slot, publication and tables). */
export interface CdcSourceNames {
  slot: string;
  publication: string;
  tables: readonly string[];
  heartbeatTable: string;
}

export const DEFAULT_SOURCE_NAMES: CdcSourceNames = {
  slot: SLOT,
  publication: PUBLICATION,
  tables: CAPTURED_TABLES,
  heartbeatTable: HEARTBEAT_TABLE,
};

/** A login's attributes and privileges in the monolith database. */
export interface LoginFacts {
  user: string;
  superuser: boolean;
  replication: boolean;
  createOnDatabase: boolean;
  createOnSchemaPublic: boolean;
}

export interface TableFacts {
  name: string;
  exists: boolean;
  /** pg_class.relreplident: d default, n nothing, f full, i index */
  replicaIdentity: string | null;
  hasPrimaryKey: boolean;
  /** the setup login owns it (or is a member of its owner) */
  ownedBySetup: boolean;
  debeziumCanSelect: boolean;
}

export interface SlotFacts {
  exists: boolean;
  active: boolean;
  activePid: number | null;
  plugin: string | null;
  database: string | null;
  walStatus: string | null;
  retainedWalBytes: number | null;
}

/** Everything the preflight judges, read from the server (facts only, no verdicts). */
export interface PreflightFacts {
  names: CdcSourceNames;
  database: string;
  serverVersionNum: number;
  serverVersion: string;
  walLevel: string;
  maxReplicationSlots: number;
  usedReplicationSlots: number;
  maxWalSenders: number;
  usedWalSenders: number;
  /** the login Debezium uses */
  debezium: LoginFacts;
  /** the login that creates the publication and the heartbeat table (the monolith's owner login) */
  setup: LoginFacts;
  tables: TableFacts[];
  publication: { exists: boolean; allTables: boolean; tables: string[] };
  heartbeat: { exists: boolean; ownedBySetup: boolean; debeziumCanWrite: boolean };
  ledgerExists: boolean;
  slot: SlotFacts;
  /** the connector's login opening a logical replication connection (absent: not probed) */
  replicationConnection?: ReplicationProbe;
}

const LOGIN_SQL = `SELECT r.rolname AS user, r.rolsuper AS superuser, r.rolreplication AS replication,
  has_database_privilege(r.rolname, current_database(), 'CREATE') AS create_on_database,
  has_schema_privilege(r.rolname, 'public', 'CREATE') AS create_on_schema_public
FROM pg_roles r WHERE r.rolname = $1`;

async function loginFacts(client: Client, user: string): Promise<LoginFacts> {
  const { rows } = await client.query<{
    user: string;
    superuser: boolean;
    replication: boolean;
    create_on_database: boolean;
    create_on_schema_public: boolean;
  }>(LOGIN_SQL, [user]);
  const r = rows[0];
  if (!r) throw new Error(`role ${user} not found in pg_roles`);
  return {
    user: r.user,
    superuser: r.superuser,
    replication: r.replication,
    createOnDatabase: r.create_on_database,
    createOnSchemaPublic: r.create_on_schema_public,
  };
}

const TABLE_SQL = `SELECT c.relreplident::text AS replica_identity,
  EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p') AS has_pk,
  pg_has_role(current_user, c.relowner, 'USAGE') AS owned,
  has_table_privilege($2, c.oid, 'SELECT') AS can_select,
  has_table_privilege($2, c.oid, 'INSERT') AND has_table_privilege($2, c.oid, 'UPDATE') AS can_write
FROM pg_class c WHERE c.oid = to_regclass($1)`;

interface TableRow {
  replica_identity: string;
  has_pk: boolean;
  owned: boolean;
  can_select: boolean;
  can_write: boolean;
}

/**
 * Reads the facts the checks judge. `setup` is connected as the setup login, `debeziumUser` is the role Debezium
 * logs in as (already proven able to log in); every query reads catalogs any login may read.
 */
export async function gatherFacts(
  setup: Client,
  debeziumUser: string,
  names: CdcSourceNames = DEFAULT_SOURCE_NAMES,
): Promise<PreflightFacts> {
  const { rows: serverRows } = await setup.query<{
    num: number;
    version: string;
    wal_level: string;
    max_slots: number;
    used_slots: number;
    max_senders: number;
    used_senders: number;
    db: string;
    setup_user: string;
  }>(`SELECT current_setting('server_version_num')::int AS num, current_setting('server_version') AS version,
    current_setting('wal_level') AS wal_level,
    current_setting('max_replication_slots')::int AS max_slots, (SELECT count(*) FROM pg_replication_slots)::int AS used_slots,
    current_setting('max_wal_senders')::int AS max_senders,
    (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender')::int AS used_senders,
    current_database() AS db, current_user AS setup_user`);
  const s = serverRows[0]!;
  const table = async (name: string): Promise<TableRow | undefined> =>
    (await setup.query<TableRow>(TABLE_SQL, [name, debeziumUser])).rows[0];
  const tables: TableFacts[] = [];
  for (const name of names.tables) {
    const t = await table(name);
    tables.push({
      name,
      exists: t !== undefined,
      replicaIdentity: t?.replica_identity ?? null,
      hasPrimaryKey: t?.has_pk ?? false,
      ownedBySetup: t?.owned ?? false,
      debeziumCanSelect: t?.can_select ?? false,
    });
  }
  const hb = await table(names.heartbeatTable);
  const { rows: pubRows } = await setup.query<{ puballtables: boolean }>(
    'SELECT puballtables FROM pg_publication WHERE pubname = $1',
    [names.publication],
  );
  const { rows: pubTables } = await setup.query<{ name: string }>(
    `SELECT schemaname || '.' || tablename AS name FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1`,
    [names.publication],
  );
  const { rows: slotRows } = await setup.query<{
    active: boolean;
    active_pid: number | null;
    plugin: string | null;
    database: string | null;
    wal_status: string | null;
    retained: string | null;
  }>(
    `SELECT active, active_pid, plugin, database, wal_status,
       pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS retained
     FROM pg_replication_slots WHERE slot_name = $1`,
    [names.slot],
  );
  const slot = slotRows[0];
  const { rows: ledgerRows } = await setup.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [
    LEDGER_TABLE,
  ]);
  return {
    names,
    database: s.db,
    serverVersionNum: s.num,
    serverVersion: s.version,
    walLevel: s.wal_level,
    maxReplicationSlots: s.max_slots,
    usedReplicationSlots: s.used_slots,
    maxWalSenders: s.max_senders,
    usedWalSenders: s.used_senders,
    debezium: await loginFacts(setup, debeziumUser),
    setup: await loginFacts(setup, s.setup_user),
    tables,
    publication: {
      exists: pubRows.length > 0,
      allTables: pubRows[0]?.puballtables ?? false,
      tables: pubTables.map((r) => r.name),
    },
    heartbeat: { exists: hb !== undefined, ownedBySetup: hb?.owned ?? false, debeziumCanWrite: hb?.can_write ?? false },
    ledgerExists: ledgerRows[0]?.exists ?? false,
    slot: {
      exists: slot !== undefined,
      active: slot?.active ?? false,
      activePid: slot?.active_pid ?? null,
      plugin: slot?.plugin ?? null,
      database: slot?.database ?? null,
      walStatus: slot?.wal_status ?? null,
      retainedWalBytes: slot?.retained == null ? null : Number(slot.retained),
    },
  };
}
