import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, chownSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { commandLineOf, listenerOwnership } from './processes';

/**
 * A project-owned PostgreSQL cluster with `wal_level=logical`, listening on loopback only.
 * The machine's own server is left alone: turning on logical replication there would change a shared server.
 * initdb/postgres refuse to run as root, so as root the cluster belongs to the `postgres` OS user.
 */
export interface PostgresCluster {
  readonly port: number;
  readonly dataDir: string;
  readonly logFile: string;
  readonly superuserUrl: string;
  urlFor(database: string, user?: string, password?: string): string;
  stop(): void;
}

export function findPostgresBinDir(): string {
  const fromEnv = process.env.PG_BIN_DIR;
  if (fromEnv) {
    if (!existsSync(path.join(fromEnv, 'initdb'))) throw new Error(`PG_BIN_DIR=${fromEnv} has no initdb`);
    return fromEnv;
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0]) return path.join(root, versions[0], 'bin');
  try {
    const bin = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    if (existsSync(path.join(bin, 'initdb'))) return bin;
  } catch {
    /* fall through */
  }
  throw new Error(
    'PostgreSQL server binaries (initdb, pg_ctl) not found: install them (Debian: apt-get install postgresql) or set PG_BIN_DIR',
  );
}

const isRoot = () => process.getuid?.() === 0;

function asClusterOwner(bin: string, args: string[], opts: { timeoutMs?: number } = {}): string {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  return execFileSync(cmd, argv, {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** As root, the data folder must be reachable by the `postgres` user; a clone under an unreadable home falls back to /tmp. */
function clusterDir(stateDir: string): string {
  const wanted = path.join(stateDir, 'postgres');
  if (!isRoot()) return wanted;
  mkdirSync(wanted, { recursive: true });
  chownSync(wanted, uidOf('postgres'), gidOf('postgres'));
  try {
    execFileSync('runuser', ['-u', 'postgres', '--', 'test', '-w', wanted]);
    return wanted;
  } catch {
    const fallback = path.join(
      '/tmp',
      `warmhouse-pg-${createHash('sha1').update(stateDir).digest('hex').slice(0, 12)}`,
    );
    mkdirSync(fallback, { recursive: true });
    chownSync(fallback, uidOf('postgres'), gidOf('postgres'));
    return fallback;
  }
}

function uidOf(user: string): number {
  return Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
}
function gidOf(user: string): number {
  return Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
}

const CLUSTER_SETTINGS = (port: number, walLevel: 'logical' | 'replica') => `
# --- Warm House project cluster (written by cdc/src/runtime/postgres.ts) ---
listen_addresses = '127.0.0.1'
port = ${port}
unix_socket_directories = ''
wal_level = ${walLevel}
max_wal_senders = 10
max_replication_slots = 10
# a lost consumer must not fill the disk: past this, the slot is invalidated (wal_status = lost) and reported
max_slot_wal_keep_size = '2GB'
wal_sender_timeout = '30s'
max_connections = 200
shared_buffers = '256MB'
fsync = on
logging_collector = off
log_min_messages = warning
`;

const HBA = `# TYPE  DATABASE     USER      ADDRESS        METHOD
host    all          postgres  127.0.0.1/32   trust
host    replication  postgres  127.0.0.1/32   trust
host    all          all       127.0.0.1/32   scram-sha-256
host    replication  all       127.0.0.1/32   scram-sha-256
`;

export function startPostgresCluster(
  stateDir: string,
  port: number,
  log: (line: string) => void,
  /** `replica`: a cluster without logical decoding, as many servers run (tests of the CDC preflight) */
  { walLevel = 'logical' as 'logical' | 'replica' } = {},
): PostgresCluster {
  const bin = findPostgresBinDir();
  const base = clusterDir(stateDir);
  const dataDir = path.join(base, 'data');
  const logFile = path.join(base, 'postgres.log');

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`initialising PostgreSQL cluster in ${dataDir}`);
    asClusterOwner(path.join(bin, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C',
    ]);
    writeFileSync(path.join(dataDir, 'pg_hba.conf'), HBA);
  }
  // Settings are rewritten on every start so a changed port takes effect.
  const conf = path.join(dataDir, 'postgresql.auto.conf');
  writeFileSync(conf, CLUSTER_SETTINGS(port, walLevel));
  if (isRoot()) chownSync(conf, uidOf('postgres'), gidOf('postgres'));

  stopStalePostmaster(bin, dataDir, log);
  const pgCtl = path.join(bin, 'pg_ctl');
  try {
    asClusterOwner(pgCtl, ['-D', dataDir, '-l', logFile, '-w', '-t', '120', 'start']);
  } catch (err) {
    const logTail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
    throw new Error(`PostgreSQL did not start (log ${logFile}):\n${logTail}`, { cause: err });
  }
  assertPostmasterListens(dataDir, port, logFile);
  const urlFor = (database: string, user = 'postgres', password?: string) =>
    `postgres://${encodeURIComponent(user)}${password ? `:${encodeURIComponent(password)}` : ''}@127.0.0.1:${port}/${database}`;
  return {
    port,
    dataDir,
    logFile,
    superuserUrl: urlFor('postgres'),
    urlFor,
    stop: () => {
      asClusterOwner(pgCtl, ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
    },
  };
}

/** The pid of the postmaster running on `dataDir` (its postmaster.pid, checked against its command line). */
export function postmasterPid(dataDir: string): number | undefined {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  return pid > 0 && commandLineOf(pid)?.includes(dataDir) ? pid : undefined;
}

/** pg_ctl said "started": the listener on `port` must be that very postmaster, not some other server. */
function assertPostmasterListens(dataDir: string, port: number, logFile: string): void {
  const pid = postmasterPid(dataDir);
  if (pid === undefined)
    throw new Error(`PostgreSQL on ${dataDir} reported started but has no postmaster (log ${logFile})`);
  if (listenerOwnership('PostgreSQL', pid, port) === 'none')
    throw new Error(`PostgreSQL (pid ${pid}) does not listen on ${port} (log ${logFile})`);
}

/**
 * A postmaster of ours left running by a crashed run is stopped (identified by its pid file and data folder):
 * a fast shutdown within `timeoutS`, an immediate one if that did not finish.
 */
function stopStalePostmaster(bin: string, dataDir: string, log: (line: string) => void, timeoutS = 60): void {
  const pid = postmasterPid(dataDir);
  if (pid === undefined) return;
  log(`stopping PostgreSQL left running by an earlier run (pid ${pid})`);
  const pgCtl = path.join(bin, 'pg_ctl');
  try {
    asClusterOwner(pgCtl, ['-D', dataDir, '-m', 'fast', '-w', '-t', String(timeoutS), 'stop']);
  } catch {
    asClusterOwner(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', '-t', '10', 'stop']);
  }
}

/** Stops the project cluster of `stateDir` if a postmaster of ours is running there. */
export function stopClusterIfRunning(stateDir: string, log: (line: string) => void, timeoutS = 60): void {
  const dataDir = path.join(clusterDir(stateDir), 'data');
  if (existsSync(dataDir)) stopStalePostmaster(findPostgresBinDir(), dataDir, log, timeoutS);
}

/** The postmaster of `stateDir`'s cluster, if one of ours is running (for checks that it is gone). */
export function clusterPostmasterPid(stateDir: string): number | undefined {
  return postmasterPid(path.join(clusterDir(stateDir), 'data'));
}
