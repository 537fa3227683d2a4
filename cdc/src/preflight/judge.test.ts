import type { PreflightFacts, TableFacts } from './facts';
import { DEFAULT_SOURCE_NAMES } from './facts';
import {
  formatReport,
  judgeAll,
  judgeExistingSlot,
  judgeHeartbeat,
  judgePublication,
  judgeReplicationLogin,
  judgeReplicationSlots,
  judgeSelect,
  judgeWalLevel,
  judgeWalSenders,
  mayApply,
  type CheckResult,
} from './judge';

const table = (name: string, over: Partial<TableFacts> = {}): TableFacts => ({
  name,
  exists: true,
  replicaIdentity: 'f',
  hasPrimaryKey: true,
  ownedBySetup: true,
  debeziumCanSelect: true,
  ...over,
});
const login = (user: string) => ({
  user,
  superuser: false,
  replication: true,
  createOnDatabase: true,
  createOnSchemaPublic: true,
});

/** A source where every check passes; each case changes one fact. */
const facts = (over: Partial<PreflightFacts> = {}): PreflightFacts => ({
  names: DEFAULT_SOURCE_NAMES,
  database: 'smart_home',
  serverVersionNum: 160004,
  serverVersion: '16.4',
  walLevel: 'logical',
  maxReplicationSlots: 10,
  usedReplicationSlots: 2,
  maxWalSenders: 10,
  usedWalSenders: 1,
  debezium: login('debezium'),
  setup: { ...login('monolith'), replication: false },
  tables: DEFAULT_SOURCE_NAMES.tables.map((t) => table(t)),
  publication: { exists: false, allTables: false, tables: [] },
  heartbeat: { exists: false, ownedBySetup: false, debeziumCanWrite: false },
  ledgerExists: false,
  slot: {
    exists: false,
    active: false,
    activePid: null,
    plugin: null,
    database: null,
    walStatus: null,
    retainedWalBytes: null,
  },
  ...over,
});
const slot = (over: Partial<PreflightFacts['slot']>): PreflightFacts['slot'] => ({
  exists: true,
  active: false,
  activePid: null,
  plugin: 'pgoutput',
  database: 'smart_home',
  walStatus: 'reserved',
  retainedWalBytes: 3 * 1024 * 1024,
  ...over,
});

describe('judgeAll', () => {
  it('passes a ready source, one line per check', () => {
    const results = judgeAll(facts());
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.map((r) => r.id)).toEqual([
      'server-version',
      'wal_level',
      'max_replication_slots',
      'max_wal_senders',
      'replication-login',
      'select',
      'publication',
      'replica-identity public.heating_systems',
      'replica-identity public.temperature_sensors',
      'primary-key public.heating_systems',
      'primary-key public.temperature_sensors',
      'heartbeat',
      'slot',
    ]);
  });

  it.each<[string, Partial<PreflightFacts>, string, Partial<NonNullable<CheckResult['fix']>>]>([
    ['an old server', { serverVersionNum: 90_600, serverVersion: '9.6' }, 'server-version', { runner: 'dba' }],
    [
      'wal_level=replica',
      { walLevel: 'replica' },
      'wal_level',
      { conf: ['wal_level = logical'], sql: ['ALTER SYSTEM SET wal_level = logical'], restart: true },
    ],
    [
      'no free slot',
      { maxReplicationSlots: 2, usedReplicationSlots: 2 },
      'max_replication_slots',
      { conf: ['max_replication_slots = 3'], restart: true, runner: 'superuser' },
    ],
    [
      'no free WAL sender',
      { maxWalSenders: 1, usedWalSenders: 1 },
      'max_wal_senders',
      { conf: ['max_wal_senders = 2'] },
    ],
    [
      'a login without REPLICATION',
      { debezium: { ...login('debezium'), replication: false } },
      'replication-login',
      { sql: ['ALTER ROLE "debezium" WITH REPLICATION'], restart: false, runner: 'superuser' },
    ],
    [
      'no SELECT',
      { tables: [table('public.heating_systems', { debeziumCanSelect: false }), table('public.temperature_sensors')] },
      'select',
      { sql: ['GRANT SELECT ON public.heating_systems TO "debezium"'], runner: 'owner' },
    ],
    [
      'REPLICA IDENTITY DEFAULT',
      { tables: [table('public.heating_systems', { replicaIdentity: 'd' }), table('public.temperature_sensors')] },
      'replica-identity public.heating_systems',
      { sql: ['ALTER TABLE public.heating_systems REPLICA IDENTITY FULL'], runner: 'owner' },
    ],
    [
      'a table without primary key',
      { tables: [table('public.heating_systems'), table('public.temperature_sensors', { hasPrimaryKey: false })] },
      'primary-key public.temperature_sensors',
      { sql: ['ALTER TABLE public.temperature_sensors ADD PRIMARY KEY (id)'], runner: 'dba' },
    ],
    ['an active slot', { slot: slot({ active: true, activePid: 4242 }) }, 'slot', { runner: 'dba' }],
  ])('%s: ✗ with the fix', (_name, over, id, fix) => {
    const failed = judgeAll(facts(over)).filter((r) => !r.ok);
    expect(failed.map((r) => r.id)).toEqual([id]);
    expect(failed[0]?.fix).toMatchObject(fix);
  });
});

describe('single checks', () => {
  it('wal_level names the value found', () => {
    expect(judgeWalLevel(facts({ walLevel: 'minimal' })).summary).toBe(
      'wal_level = minimal (logical decoding needs logical)',
    );
  });

  it.each<[string, Partial<PreflightFacts>, boolean]>([
    ['free slot', {}, true],
    ['all used, slot absent', { usedReplicationSlots: 10 }, false],
    ['all used, ours among them', { usedReplicationSlots: 10, slot: slot({}) }, true],
  ])('replication slots: %s', (_n, over, ok) => {
    expect(judgeReplicationSlots(facts(over)).ok).toBe(ok);
  });

  it('WAL senders: the connector streaming already holds one', () => {
    expect(judgeWalSenders(facts({ maxWalSenders: 1, usedWalSenders: 1, slot: slot({ active: true }) })).ok).toBe(true);
  });

  it('a superuser needs no REPLICATION attribute', () => {
    expect(
      judgeReplicationLogin(facts({ debezium: { ...login('postgres'), superuser: true, replication: false } })).ok,
    ).toBe(true);
  });

  it('a missing captured table says so, with no SQL', () => {
    const r = judgeSelect(facts({ tables: [table('public.heating_systems', { exists: false })] }));
    expect(r).toMatchObject({ ok: false, summary: 'captured table(s) missing: public.heating_systems' });
    expect(r.fix?.sql).toBeUndefined();
  });

  it.each<[string, Partial<PreflightFacts>, boolean, string]>([
    [
      'absent, creatable',
      {},
      true,
      'publication warmhouse_monolith_pub absent, creatable by monolith (the stack creates it)',
    ],
    [
      'absent, tables owned by someone else',
      { tables: [table('public.heating_systems', { ownedBySetup: false })] },
      false,
      'publication warmhouse_monolith_pub absent and monolith may not create it (needs CREATE on the database and owning the tables)',
    ],
    [
      'present with every table',
      {
        publication: {
          exists: true,
          allTables: false,
          tables: ['public.cdc_heartbeat', 'public.heating_systems', 'public.temperature_sensors'],
        },
      },
      true,
      'publication warmhouse_monolith_pub present',
    ],
    [
      'present, lacking one',
      { publication: { exists: true, allTables: false, tables: ['public.cdc_heartbeat', 'public.heating_systems'] } },
      false,
      'publication warmhouse_monolith_pub lacks public.temperature_sensors',
    ],
    [
      'FOR ALL TABLES',
      { publication: { exists: true, allTables: true, tables: [] } },
      true,
      'publication warmhouse_monolith_pub present (FOR ALL TABLES)',
    ],
  ])('publication: %s', (_n, over, ok, summary) => {
    expect(judgePublication(facts(over))).toMatchObject({ ok, summary });
  });

  it.each<[string, Partial<PreflightFacts>, boolean]>([
    ['absent, creatable', {}, true],
    ['absent, no CREATE on public', { setup: { ...login('monolith'), createOnSchemaPublic: false } }, false],
    ['present, writable', { heartbeat: { exists: true, ownedBySetup: true, debeziumCanWrite: true } }, true],
    ['present, not writable', { heartbeat: { exists: true, ownedBySetup: true, debeziumCanWrite: false } }, false],
  ])('heartbeat: %s', (_n, over, ok) => {
    expect(judgeHeartbeat(facts(over)).ok).toBe(ok);
  });

  it.each<[string, PreflightFacts['slot'], boolean, RegExp]>([
    ['inactive, ours', slot({}), true, /exists, inactive, retains 3\.0 MB of WAL: Debezium resumes from it/],
    ['active', slot({ active: true, activePid: 77 }), false, /is active \(pid 77\)/],
    ['lost', slot({ walStatus: 'lost' }), false, /lost its WAL/],
    ['another database', slot({ database: 'other' }), false, /belongs to other with plug-in pgoutput/],
    ['another plug-in', slot({ plugin: 'wal2json' }), false, /plug-in wal2json/],
  ])('existing slot: %s', (_n, s, ok, summary) => {
    const r = judgeExistingSlot(facts({ slot: s }));
    expect(r.ok).toBe(ok);
    expect(r.summary).toMatch(summary);
  });
});

describe('mayApply', () => {
  const fix = (runner: 'superuser' | 'owner' | 'dba') => ({ sql: ['SELECT 1'], restart: false, runner });
  it.each<[string, 'superuser' | 'owner' | 'dba', Partial<PreflightFacts>, boolean]>([
    ['owner fix, owner login', 'owner', {}, true],
    [
      'owner fix, tables owned by another',
      'owner',
      { tables: [table('public.heating_systems', { ownedBySetup: false })] },
      false,
    ],
    ['superuser fix, plain login', 'superuser', {}, false],
    ['superuser fix, superuser', 'superuser', { setup: { ...login('postgres'), superuser: true } }, true],
    ['DBA decision, superuser', 'dba', { setup: { ...login('postgres'), superuser: true } }, false],
  ])('%s', (_n, runner, over, expected) => {
    expect(mayApply(fix(runner), facts(over))).toBe(expected);
  });
});

describe('formatReport', () => {
  it('prints ✓/✗ per check and the fix of each ✗, with the restart it needs', () => {
    const f = facts({ walLevel: 'replica', debezium: { ...login('debezium'), replication: false } });
    expect(formatReport(judgeAll(f).slice(1, 2).concat(judgeAll(f).slice(4, 5)))).toEqual([
      '\u2717 wal_level: wal_level = replica (logical decoding needs logical)',
      '    fix in postgresql.conf (restart needed): wal_level = logical',
      '    or as a superuser: ALTER SYSTEM SET wal_level = logical; (then restart)',
      '\u2717 replication-login: login debezium lacks the REPLICATION attribute',
      '    fix as a superuser (no restart): ALTER ROLE "debezium" WITH REPLICATION;',
      "    note: pg_hba.conf must also let it in: host smart_home debezium <Kafka Connect's address> scram-sha-256 " +
        '(a logical replication connection matches the line of its database, not the "replication" keyword, which is ' +
        'for physical replication; reload, no restart)',
    ]);
  });
});

describe('replication-connection (a logical replication connection, as the connector opens it)', () => {
  const byId = (f: PreflightFacts) => judgeAll(f).find((r) => r.id === 'replication-connection');

  it('✓ when IDENTIFY_SYSTEM answered; not judged when not probed', () => {
    expect(byId(facts({ replicationConnection: { ok: true, systemId: '7' } }))).toMatchObject({ ok: true });
    expect(byId(facts())).toBeUndefined();
  });

  it('a pg_hba.conf refusal: ✗ with the line of the database (not the replication keyword), for a DBA', () => {
    const refused = byId(
      facts({
        replicationConnection: {
          ok: false,
          sqlState: '28000',
          message: 'no pg_hba.conf entry for replication connection from host "10.0.0.7", user "debezium"',
        },
      }),
    );
    expect(refused).toMatchObject({ ok: false, fix: { runner: 'dba', restart: false } });
    expect(refused?.summary).toContain('no pg_hba.conf entry');
    expect(refused?.fix?.note).toContain("host smart_home debezium <Kafka Connect's address> scram-sha-256");
    expect(refused?.fix?.note).not.toContain('host replication');
  });

  it('another failure: ✗ quoting the server; not judged while the login lacks REPLICATION (replication-login says it)', () => {
    const failed = { ok: false as const, sqlState: '53300', message: 'too many connections' };
    expect(byId(facts({ replicationConnection: failed }))?.summary).toContain('too many connections');
    expect(byId(facts({ replicationConnection: failed }))?.fix?.note).not.toContain('pg_hba');
    const noReplication = facts({
      replicationConnection: failed,
      debezium: { ...login('debezium'), replication: false },
    });
    expect(byId(noReplication)).toBeUndefined();
    expect(judgeAll(noReplication).find((r) => r.id === 'replication-login')?.fix?.note).toContain(
      'host smart_home debezium',
    );
  });
});

describe("slot with --allow-active-slot (an upgrade, the stack's connector streaming)", () => {
  const active = () => facts({ slot: slot({ active: true, activePid: 4242 }) });
  const slotResult = (f: PreflightFacts, allowActiveSlot: boolean) =>
    judgeAll(f, { allowActiveSlot }).find((r) => r.id === 'slot');

  it('an active slot of this database is ✓ with the flag and ✗ without', () => {
    expect(slotResult(active(), true)).toMatchObject({ ok: true, summary: expect.stringContaining('pid 4242') });
    expect(slotResult(active(), false)).toMatchObject({ ok: false });
  });

  it('a slot of another database or plug-in stays ✗ with the flag', () => {
    const foreign = facts({ slot: slot({ active: true, activePid: 4242, database: 'other' }) });
    expect(slotResult(foreign, true)).toMatchObject({ ok: false });
  });
});
