import type { LoginFacts, PreflightFacts, TableFacts } from './facts';

/** Who may run a fix's SQL: a superuser, the owner of the captured tables, or nobody automatically (a DBA decides). */
export type FixRunner = 'superuser' | 'owner' | 'dba';

/** How to turn a ✗ into a ✓. */
export interface Fix {
  /** SQL statements, in order */
  sql?: string[];
  /** postgresql.conf lines (a restart-only setting) */
  conf?: string[];
  restart: boolean;
  runner: FixRunner;
  /** a sentence for what SQL cannot say */
  note?: string;
}

export interface CheckResult {
  id: string;
  ok: boolean;
  /** one line: what was found */
  summary: string;
  fix?: Fix;
}

const MIN_SERVER_VERSION_NUM = 100_000; // pgoutput, the logical decoding plug-in Debezium uses, came with PostgreSQL 10
const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** A server setting that only takes effect after a restart: its postgresql.conf line or ALTER SYSTEM, by a superuser. */
const serverSettingFix = (setting: string, value: string | number): Fix => ({
  conf: [`${setting} = ${value}`],
  sql: [`ALTER SYSTEM SET ${setting} = ${value}`],
  restart: true,
  runner: 'superuser',
});

export function judgeServerVersion(f: PreflightFacts): CheckResult {
  const ok = f.serverVersionNum >= MIN_SERVER_VERSION_NUM;
  return {
    id: 'server-version',
    ok,
    summary: `PostgreSQL ${f.serverVersion}${ok ? '' : ' (pgoutput needs PostgreSQL 10 or newer)'}`,
    fix: ok ? undefined : { restart: true, runner: 'dba', note: 'upgrade the server to PostgreSQL 10 or newer' },
  };
}

export function judgeWalLevel(f: PreflightFacts): CheckResult {
  const ok = f.walLevel === 'logical';
  return {
    id: 'wal_level',
    ok,
    summary: `wal_level = ${f.walLevel}${ok ? '' : ' (logical decoding needs logical)'}`,
    fix: ok ? undefined : serverSettingFix('wal_level', 'logical'),
  };
}

export function judgeReplicationSlots(f: PreflightFacts): CheckResult {
  const free = f.maxReplicationSlots - f.usedReplicationSlots;
  const needed = f.slot.exists ? 0 : 1;
  const ok = free >= needed;
  const wanted = f.usedReplicationSlots + needed;
  return {
    id: 'max_replication_slots',
    ok,
    summary: `max_replication_slots = ${f.maxReplicationSlots}, ${f.usedReplicationSlots} used, ${free} free${needed ? ' (1 needed for the slot)' : ` (slot ${f.names.slot} exists)`}`,
    fix: ok ? undefined : serverSettingFix('max_replication_slots', wanted),
  };
}

export function judgeWalSenders(f: PreflightFacts): CheckResult {
  const free = f.maxWalSenders - f.usedWalSenders;
  // the connector's own walsender, when it is running, already counts as used
  const ok = free >= 1 || (f.slot.active && f.maxWalSenders >= 1);
  const wanted = f.usedWalSenders + 1;
  return {
    id: 'max_wal_senders',
    ok,
    summary: `max_wal_senders = ${f.maxWalSenders}, ${f.usedWalSenders} in use, ${Math.max(free, 0)} free`,
    fix: ok ? undefined : serverSettingFix('max_wal_senders', wanted),
  };
}

const replicates = (l: LoginFacts) => l.superuser || l.replication;

export function judgeReplicationLogin(f: PreflightFacts): CheckResult {
  const ok = replicates(f.debezium);
  return {
    id: 'replication-login',
    ok,
    summary: `login ${f.debezium.user} ${ok ? 'has' : 'lacks'} the REPLICATION attribute`,
    fix: ok
      ? undefined
      : {
          sql: [`ALTER ROLE ${ident(f.debezium.user)} WITH REPLICATION`],
          restart: false,
          runner: 'superuser',
          note: hbaNote(f),
        },
  };
}

/**
 * The pg_hba.conf line a logical replication connection needs: it is matched by its database's name (or `all`),
 * not by the `replication` keyword, which only physical replication connections match (PostgreSQL 10+).
 */
const hbaNote = (f: PreflightFacts) =>
  `pg_hba.conf must also let it in: host ${f.database} ${f.debezium.user} <Kafka Connect's address> scram-sha-256 ` +
  '(a logical replication connection matches the line of its database, not the "replication" keyword, which is ' +
  'for physical replication; reload, no restart)';

/** Whether the Debezium login could open a logical replication connection (only judged when it has REPLICATION). */
export function judgeReplicationConnection(f: PreflightFacts): CheckResult | undefined {
  const probe = f.replicationConnection;
  if (!probe || !replicates(f.debezium)) return undefined;
  if (probe.ok)
    return {
      id: 'replication-connection',
      ok: true,
      summary: `login ${f.debezium.user} opened a logical replication connection to ${f.database} (IDENTIFY_SYSTEM)`,
    };
  const refused = probe.sqlState === '28000' || probe.message.includes('pg_hba.conf');
  return {
    id: 'replication-connection',
    ok: false,
    summary: `login ${f.debezium.user} could not open a logical replication connection to ${f.database}: ${probe.message}`,
    fix: {
      restart: false,
      runner: 'dba',
      note: refused ? hbaNote(f) : "the connector opens the same connection: the server's log says why it failed",
    },
  };
}

export function judgeSelect(f: PreflightFacts): CheckResult {
  const missing = f.tables.filter((t) => !t.exists).map((t) => t.name);
  const denied = f.tables.filter((t) => t.exists && !t.debeziumCanSelect).map((t) => t.name);
  if (missing.length > 0) {
    return {
      id: 'select',
      ok: false,
      summary: `captured table(s) missing: ${missing.join(', ')}`,
      fix: {
        restart: false,
        runner: 'dba',
        note: 'point MONOLITH_DATABASE_URL at the monolith database (its schema has these tables)',
      },
    };
  }
  return {
    id: 'select',
    ok: denied.length === 0,
    summary:
      denied.length === 0
        ? `login ${f.debezium.user} may SELECT ${f.names.tables.join(', ')}`
        : `login ${f.debezium.user} may not SELECT ${denied.join(', ')}`,
    fix:
      denied.length === 0
        ? undefined
        : {
            sql: [`GRANT SELECT ON ${denied.join(', ')} TO ${ident(f.debezium.user)}`],
            restart: false,
            runner: 'owner',
          },
  };
}

/** The setup login may create a publication for the captured tables: CREATE on the database and owning the tables. */
export function setupMayCreatePublication(f: PreflightFacts): boolean {
  if (f.setup.superuser) return true;
  return (
    f.setup.createOnDatabase &&
    f.tables.every((t) => t.ownedBySetup) &&
    (!f.heartbeat.exists || f.heartbeat.ownedBySetup)
  );
}

export function judgePublication(f: PreflightFacts): CheckResult {
  const wanted = [...f.names.tables, f.names.heartbeatTable];
  const tableList = wanted.join(', ');
  if (!f.publication.exists) {
    const ok = setupMayCreatePublication(f);
    return {
      id: 'publication',
      ok,
      summary: ok
        ? `publication ${f.names.publication} absent, creatable by ${f.setup.user} (the stack creates it)`
        : `publication ${f.names.publication} absent and ${f.setup.user} may not create it (needs CREATE on the database and owning the tables)`,
      fix: ok
        ? undefined
        : {
            sql: [`CREATE PUBLICATION ${f.names.publication} FOR TABLE ${tableList}`],
            restart: false,
            runner: 'dba',
            note: 'run it as the tables\u2019 owner (create the heartbeat table first, see its line)',
          },
    };
  }
  const lacking = f.publication.allTables ? [] : wanted.filter((t) => !f.publication.tables.includes(t));
  return {
    id: 'publication',
    ok: lacking.length === 0,
    summary:
      lacking.length === 0
        ? `publication ${f.names.publication} present${f.publication.allTables ? ' (FOR ALL TABLES)' : ''}`
        : `publication ${f.names.publication} lacks ${lacking.join(', ')}`,
    fix:
      lacking.length === 0
        ? undefined
        : {
            sql: [`ALTER PUBLICATION ${f.names.publication} ADD TABLE ${lacking.join(', ')}`],
            restart: false,
            runner: 'owner',
          },
  };
}

const IDENTITY: Record<string, string> = { d: 'DEFAULT', n: 'NOTHING', f: 'FULL', i: 'USING INDEX' };

export function judgeReplicaIdentity(t: TableFacts): CheckResult {
  const ok = t.replicaIdentity === 'f';
  return {
    id: `replica-identity ${t.name}`,
    ok,
    summary: `${t.name} REPLICA IDENTITY ${IDENTITY[t.replicaIdentity ?? ''] ?? '?'}${ok ? '' : ' (updates and deletes need the full before-image)'}`,
    fix: ok ? undefined : { sql: [`ALTER TABLE ${t.name} REPLICA IDENTITY FULL`], restart: false, runner: 'owner' },
  };
}

export function judgePrimaryKey(t: TableFacts): CheckResult {
  return {
    id: `primary-key ${t.name}`,
    ok: t.hasPrimaryKey,
    summary: `${t.name} ${t.hasPrimaryKey ? 'has' : 'has no'} primary key`,
    fix: t.hasPrimaryKey
      ? undefined
      : {
          sql: [`ALTER TABLE ${t.name} ADD PRIMARY KEY (id)`],
          restart: false,
          runner: 'dba',
          note: 'change events are keyed by the primary key; choose its columns (the monolith\u2019s is id)',
        },
  };
}

export function judgeHeartbeat(f: PreflightFacts): CheckResult {
  const table = f.names.heartbeatTable;
  if (!f.heartbeat.exists) {
    const ok = f.setup.superuser || f.setup.createOnSchemaPublic;
    return {
      id: 'heartbeat',
      ok,
      summary: ok
        ? `heartbeat table ${table} absent, creatable by ${f.setup.user} (the stack creates it)`
        : `heartbeat table ${table} absent and ${f.setup.user} may not create tables in schema public`,
      fix: ok
        ? undefined
        : { sql: [`GRANT CREATE ON SCHEMA public TO ${ident(f.setup.user)}`], restart: false, runner: 'superuser' },
    };
  }
  const ok = f.heartbeat.debeziumCanWrite || f.debezium.superuser;
  return {
    id: 'heartbeat',
    ok,
    summary: `heartbeat table ${table} present, ${f.debezium.user} ${ok ? 'may' : 'may not'} INSERT and UPDATE it`,
    fix: ok
      ? undefined
      : {
          sql: [`GRANT SELECT, INSERT, UPDATE ON ${table} TO ${ident(f.debezium.user)}`],
          restart: false,
          runner: 'owner',
        },
  };
}

/** How the preflight is run: `allowActiveSlot` when the stack's own connector may be streaming (an upgrade). */
export interface JudgeOptions {
  allowActiveSlot?: boolean;
}

export function judgeExistingSlot(f: PreflightFacts, { allowActiveSlot = false }: JudgeOptions = {}): CheckResult {
  const { slot, names } = f;
  const drop = `SELECT pg_drop_replication_slot(${literal(names.slot)})`;
  if (!slot.exists) return { id: 'slot', ok: true, summary: `slot ${names.slot} absent (Debezium creates it)` };
  const retained = slot.retainedWalBytes === null ? '' : `, retains ${mb(slot.retainedWalBytes)} of WAL`;
  if (slot.plugin !== 'pgoutput' || slot.database !== f.database) {
    return {
      id: 'slot',
      ok: false,
      summary: `slot ${names.slot} belongs to ${slot.database ?? '(physical)'} with plug-in ${slot.plugin ?? '-'}, not ${f.database}/pgoutput${retained}`,
      fix: { sql: [drop], restart: false, runner: 'dba', note: 'or give the stack another slot name (CDC_SLOT_NAME)' },
    };
  }
  if (slot.walStatus === 'lost') {
    return {
      id: 'slot',
      ok: false,
      summary: `slot ${names.slot} lost its WAL (wal_status lost): it cannot be resumed`,
      fix: { sql: [drop], restart: false, runner: 'dba', note: 'then start again: Debezium takes a new snapshot' },
    };
  }
  if (slot.active && allowActiveSlot) {
    return {
      id: 'slot',
      ok: true,
      summary: `slot ${names.slot} is active (pid ${slot.activePid ?? '?'}), taken for the running connector's (--allow-active-slot)${retained}`,
    };
  }
  if (slot.active) {
    return {
      id: 'slot',
      ok: false,
      summary: `slot ${names.slot} is active (pid ${slot.activePid ?? '?'}): another consumer streams from it${retained}`,
      fix: {
        restart: false,
        runner: 'dba',
        note: `stop that consumer (SELECT pg_terminate_backend(${slot.activePid ?? 'pid'}) ends its connection) or use another slot name (CDC_SLOT_NAME)`,
      },
    };
  }
  return { id: 'slot', ok: true, summary: `slot ${names.slot} exists, inactive${retained}: Debezium resumes from it` };
}

/** Every check, in the order they are printed. */
export function judgeAll(f: PreflightFacts, options: JudgeOptions = {}): CheckResult[] {
  return [
    judgeServerVersion(f),
    judgeWalLevel(f),
    judgeReplicationSlots(f),
    judgeWalSenders(f),
    judgeReplicationLogin(f),
    ...[judgeReplicationConnection(f)].filter((r): r is CheckResult => r !== undefined),
    judgeSelect(f),
    judgePublication(f),
    ...f.tables.filter((t) => t.exists).map(judgeReplicaIdentity),
    ...f.tables.filter((t) => t.exists).map(judgePrimaryKey),
    judgeHeartbeat(f),
    judgeExistingSlot(f, options),
  ];
}

/** Whether the login that ran the preflight may run the fix's SQL itself (`--apply`). */
export function mayApply(fix: Fix, f: PreflightFacts): boolean {
  if (!fix.sql || fix.runner === 'dba') return false;
  if (f.setup.superuser) return true;
  return fix.runner === 'owner' && f.tables.every((t) => !t.exists || t.ownedBySetup);
}

/** The printed report: a ✓/✗ line per check, the fix of each ✗ indented below it. */
export function formatReport(results: readonly CheckResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.ok ? '\u2713' : '\u2717'} ${r.id}: ${r.summary}`);
    if (r.ok || !r.fix) continue;
    const { fix } = r;
    const restart = fix.restart ? 'restart needed' : 'no restart';
    if (fix.conf) lines.push(`    fix in postgresql.conf (${restart}): ${fix.conf.join('; ')}`);
    if (fix.sql) {
      const who =
        fix.runner === 'superuser'
          ? 'as a superuser'
          : fix.runner === 'owner'
            ? 'as the tables\u2019 owner'
            : 'as a DBA';
      const sql = fix.sql.map((s) => `${s};`).join(' ');
      lines.push(fix.conf ? `    or ${who}: ${sql} (then restart)` : `    fix ${who} (${restart}): ${sql}`);
    }
    if (fix.note) lines.push(`    note: ${fix.note}`);
  }
  return lines;
}

/** Exit codes of `cdc:preflight`. */
export const PREFLIGHT_EXIT = { ok: 0, failed: 1, config: 2, unreachable: 3 } as const;
