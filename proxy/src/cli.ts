import os from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import type { AuditEntry } from './table/audit';
import type { RouteSpec, UpstreamSpec } from './table/schema';
import { AdminCallError, AdminClient, EXIT } from './cli/client';
import { renderTable } from './cli/table';
import { renderPlanCheck } from './cli/plan';
import type { PlanCheck } from './plan/runner';

/** Where the CLI writes; injectable for tests. */
export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

const defaultIo: CliIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), env: process.env };

interface GlobalOptions {
  url: string;
  token?: string;
  json?: boolean;
}

/** `device-management`, `device-management (unavailable)`, `canary 25% device-management / monolith`. */
function describeRoute(r: RouteSpec): string {
  if (r.mode === 'canary') return `canary ${r.weight ?? 0}% ${r.target} / ${r.canary?.baseline ?? 'default target'}`;
  return r.mode === 'forward' ? r.target : `${r.target} (${r.mode})`;
}

/**
 * `strangler` — talks to the proxy's admin API. Exit codes: 0 ok, 2 usage, 3 unauthorized,
 * 4 rejected (invalid input, unknown route), 5 admin API unreachable or failing, 6 forbidden (the person's token
 * lacks the role), 1 anything else.
 */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const program = new Command('strangler')
    .description('Strangler proxy admin CLI: list routes, flip a route to another upstream, read the audit log.')
    .addOption(
      new Option('--url <url>', 'admin API base URL')
        .env('STRANGLER_ADMIN_URL')
        .default(io.env.STRANGLER_ADMIN_URL ?? 'http://127.0.0.1:8001'),
    )
    .addOption(
      new Option(
        '--token <token>',
        "bearer token: a person's access token (STRANGLER_ACCESS_TOKEN) or the shared admin token (STRANGLER_ADMIN_TOKEN / PROXY_ADMIN_TOKEN)",
      ),
    )
    .option('--json', 'print raw JSON instead of tables')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();

  const client = (): { api: AdminClient; json: boolean } => {
    const o = program.opts<GlobalOptions>();
    // a person's token wins over the shared one: the change is audited with the person's subject
    const token = o.token ?? io.env.STRANGLER_ACCESS_TOKEN ?? io.env.STRANGLER_ADMIN_TOKEN ?? io.env.PROXY_ADMIN_TOKEN;
    return {
      api: new AdminClient(o.url, token, `${os.userInfo().username}@${os.hostname()} (cli)`),
      json: o.json === true,
    };
  };
  const print = (json: boolean, data: unknown, text: () => string): void =>
    io.out(json ? JSON.stringify(data, null, 2) + '\n' : text());

  const routes = program.command('routes').description('route table');
  routes
    .command('list')
    .description('list routes in table order')
    .action(async () => {
      const { api, json } = client();
      const data = await api.call<{ version: number; defaultTarget: string; routes: RouteSpec[] }>(
        'GET',
        '/api/routes',
      );
      print(
        json,
        data,
        () =>
          `table version ${data.version}, default target ${data.defaultTarget}\n` +
          renderTable(
            ['ID', 'METHODS', 'PATH', 'TARGET', 'MODE', 'NOTES'],
            data.routes.map((r) => [
              r.id,
              r.methods.join(','),
              r.path,
              r.target,
              r.mode === 'canary' ? `canary ${r.weight ?? 0}%` : r.mode,
              r.notes,
            ]),
          ),
      );
    });

  const route = program.command('route').description('one route');
  route
    .command('get <id>')
    .description('show one route')
    .action(async (id: string) => {
      const { api, json } = client();
      const data = await api.call<{ version: number; route: RouteSpec }>(
        'GET',
        `/api/routes/${encodeURIComponent(id)}`,
      );
      print(json, data, () =>
        renderTable(
          ['FIELD', 'VALUE'],
          Object.entries(data.route).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
          100,
        ),
      );
    });
  route
    .command('set <id>')
    .description('change a route: target, mode, canary weight (takes effect for new requests at once)')
    .option('--target <upstream>', 'upstream name, e.g. monolith or device-management')
    .addOption(new Option('--mode <mode>', 'route mode').choices(['forward', 'unavailable', 'canary', 'shadow']))
    .option('--weight <percent>', 'canary weight, 0–100 (% of keys sent to the target)')
    .requiredOption('--reason <text>', 'why (kept in the audit log)')
    .option('--if-version <n>', 'refuse (409) unless the route table is still at this version')
    .action(
      async (
        id: string,
        o: { target?: string; mode?: string; weight?: string; reason: string; ifVersion?: string },
      ) => {
        if (o.target === undefined && o.mode === undefined && o.weight === undefined) {
          io.err('strangler: give at least one of --target, --mode, --weight\n');
          throw new CommanderError(EXIT.usage, 'strangler.usage', 'nothing to change');
        }
        const weight = o.weight === undefined ? undefined : Number(o.weight);
        if (weight !== undefined && !(Number.isInteger(weight) && weight >= 0 && weight <= 100)) {
          io.err(`strangler: --weight must be an integer from 0 to 100 (got ${JSON.stringify(o.weight)})\n`);
          throw new CommanderError(EXIT.usage, 'strangler.usage', 'bad weight');
        }
        const { api, json } = client();
        const path = `/api/routes/${encodeURIComponent(id)}`;
        const before = await api.call<{ route: RouteSpec }>('GET', path);
        const onlyTarget = o.mode === undefined && weight === undefined;
        if (o.ifVersion !== undefined && !/^\d+$/.test(o.ifVersion)) {
          io.err(`strangler: --if-version must be a table version (got ${JSON.stringify(o.ifVersion)})\n`);
          throw new CommanderError(EXIT.usage, 'strangler.usage', 'bad version');
        }
        const data = await api.call<{ version: number; route: RouteSpec; changes: AuditEntry[] }>(
          onlyTarget ? 'PUT' : 'PATCH',
          onlyTarget ? `${path}/target` : path,
          onlyTarget
            ? { target: o.target, reason: o.reason }
            : { target: o.target, mode: o.mode, weight, reason: o.reason },
          o.ifVersion === undefined ? {} : { 'if-match': `"${o.ifVersion}"` },
        );
        print(json, data, () =>
          data.changes.length === 0
            ? `${id}: already on ${describeRoute(data.route)} (table version ${data.version}, nothing changed)\n`
            : `${id}: ${describeRoute(before.route)} → ${describeRoute(data.route)} (table version ${data.version})\n` +
              (before.route.plan?.status === 'active' && data.route.plan?.status === 'paused'
                ? `${id}: its plan is paused (strangler plan resume ${id} --reason … hands the route back)\n`
                : ''),
        );
      },
    );

  program
    .command('fleet')
    .description('the proxy processes sharing the control store, the version each serves, and the plan runner')
    .action(async () => {
      const { api, json } = client();
      const data = await api.call<{
        storeVersion: number;
        converged: boolean;
        processes: Array<{ processId: string; versionServed: number; servingFrom: string; lastSeen: string }>;
        planRunner: { holder: string | null; epoch: number; held: boolean } | null;
      }>('GET', '/api/fleet');
      print(
        json,
        data,
        () =>
          renderTable(
            ['PROCESS', 'VERSION', 'FROM', 'LAST SEEN', 'PLANS'],
            data.processes.map((p) => [
              p.processId,
              String(p.versionServed),
              p.servingFrom,
              p.lastSeen,
              data.planRunner?.held && data.planRunner.holder === p.processId
                ? `runner (epoch ${data.planRunner.epoch})`
                : '',
            ]),
          ) + `store version ${data.storeVersion}: ${data.converged ? 'converged' : 'NOT converged'}\n`,
      );
    });

  const plan = program.command('plan').description('migration plans of routes');
  plan
    .command('check <id>')
    .description('dry run: where the route stands in its plan, the evidence, and what the proxy would do now and why')
    .action(async (id: string) => {
      const { api, json } = client();
      const data = await api.call<PlanCheck>('GET', `/api/routes/${encodeURIComponent(id)}/plan`);
      print(json, data, () => renderPlanCheck(data));
    });
  for (const [name, status, what] of [
    ['pause', 'paused', 'stop the proxy from moving the route (the route stays where it is)'],
    ['resume', 'active', 'hand the route back to its plan (it continues from where the route stands)'],
  ] as const) {
    plan
      .command(`${name} <id>`)
      .description(what)
      .requiredOption('--reason <text>', 'why (kept in the audit log)')
      .action(async (id: string, o: { reason: string }) => {
        const { api, json } = client();
        const data = await api.call<{ version: number; route: RouteSpec; changes: AuditEntry[] }>(
          'PATCH',
          `/api/routes/${encodeURIComponent(id)}`,
          { planStatus: status, reason: o.reason },
        );
        print(json, data, () => `${id}: plan ${data.route.plan?.status ?? 'none'} (table version ${data.version})\n`);
      });
  }

  program
    .command('upstreams')
    .description('list upstreams')
    .command('list', { isDefault: true })
    .description('list upstreams with their routes')
    .action(async () => {
      const { api, json } = client();
      const data = await api.call<{
        upstreams: Array<{ name: string; origin: string; timeouts: UpstreamSpec['timeouts']; routes: string[] }>;
      }>('GET', '/api/upstreams');
      print(json, data, () =>
        renderTable(
          ['NAME', 'ORIGIN', 'TIMEOUTS (connect/headers/body ms)', 'ROUTES'],
          data.upstreams.map((u) => [
            u.name,
            u.origin,
            `${u.timeouts.connectMs}/${u.timeouts.headersMs}/${u.timeouts.bodyMs}`,
            u.routes.join(',') || '-',
          ]),
        ),
      );
    });

  program
    .command('audit')
    .description('show the audit log (oldest first)')
    .option('--limit <n>', 'newest N entries', '50')
    .option('--route <id>', 'only entries of one route')
    .action(async (o: { limit: string; route?: string }) => {
      const { api, json } = client();
      const q = new URLSearchParams({ limit: o.limit, ...(o.route ? { route: o.route } : {}) });
      const data = await api.call<{ entries: AuditEntry[] }>('GET', `/api/audit?${q}`);
      print(json, data, () =>
        renderTable(
          ['WHEN', 'VERSION', 'ACTOR', 'ACTION', 'ROUTE', 'FROM → TO', 'REASON'],
          data.entries.map((e) => [
            e.at,
            String(e.version),
            e.declaredActor ? `${e.actor} (${e.declaredActor})` : e.actor,
            e.action,
            e.routeId ?? '-',
            `${e.from ?? '-'} → ${e.to ?? '-'}`,
            e.reason,
          ]),
        ),
      );
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0)
        return EXIT.ok;
      return EXIT.usage;
    }
    if (err instanceof AdminCallError) {
      io.err(`strangler: ${err.message}\n`);
      return err.exitCode;
    }
    io.err(`strangler: ${(err as Error).message}\n`);
    return EXIT.unexpected;
  }
}

/** Process entry (used by bin/strangler.cjs). */
export function main(): void {
  void runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) main();
