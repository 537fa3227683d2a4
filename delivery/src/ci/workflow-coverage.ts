/**
 * Which tests the GitHub workflows run: every jest invocation of every workflow (reusable workflows expanded with
 * their callers' inputs, `npm run` scripts expanded from package.json), read as jest reads its arguments
 * (`--selectProjects` names, path patterns as case-insensitive regular expressions over absolute paths), and the
 * integration test locations of the repository that none of them runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/** One jest invocation in a workflow. */
export interface JestRun {
  /** `<workflow file>/<job>` it runs in (the caller's job for a reusable workflow). */
  where: string;
  /** Selected projects; empty = every project. */
  projects: string[];
  /** Path patterns, `$GITHUB_WORKSPACE` replaced by the repository root; empty = every file. */
  patterns: string[];
  flags: string[];
}

/** A jest project: its name and which repository-relative paths its `testMatch` takes. */
export interface JestProject {
  name: string;
  matches(relPath: string): boolean;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- parsed YAML and jest config */

/** `<rootDir>/**\/test/integration/**\/*.itest.ts` → a matcher of repository-relative paths. */
export function globMatcher(glob: string): (relPath: string) => boolean {
  const body = glob
    .replace(/^<rootDir>\//, '')
    .split(/(\*\*\/|\*\*|\*|\?)/)
    .map((part) =>
      part === '**/'
        ? '(?:.*/)?'
        : part === '**'
          ? '.*'
          : part === '*'
            ? '[^/]*'
            : part === '?'
              ? '[^/]'
              : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  const re = new RegExp(`^${body}$`);
  return (relPath) => re.test(relPath);
}

export function jestProjects(root: string): JestProject[] {
  const config = require(path.join(root, 'jest.config.js')) as {
    projects: Array<{ displayName: string; testMatch: string[] }>;
  };
  return config.projects.map((p) => {
    const matchers = p.testMatch.map(globMatcher);
    return { name: p.displayName, matches: (rel) => matchers.some((m) => m(rel)) };
  });
}

/** Splits a shell command line into words (quotes removed; no expansion beyond what `vars` gives). */
function words(command: string, vars: Record<string, string>): string[] {
  // a variable expands inside double quotes to one word, unquoted to as many as it has (the shell's word splitting)
  const expanded = command.replace(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g, (all, name: string) => vars[name] ?? all);
  return (expanded.match(/"[^"]*"|'[^']*'|[^\s"']+/g) ?? []).map((w) =>
    w.startsWith('"') || w.startsWith("'") ? w.slice(1, -1) : w,
  );
}

/** The jest invocations of one shell script (`&&`, `;`, newlines), `npm run <script>` expanded. */
function jestCommands(
  script: string,
  vars: Record<string, string>,
  scripts: Record<string, string>,
  depth = 0,
): string[][] {
  const out: string[][] = [];
  for (const command of script.split(/&&|\|\||;|\n/)) {
    const w = words(command, vars);
    const start = w[0] === 'npx' ? 1 : 0;
    if (w[start] === 'jest') out.push(w.slice(start + 1));
    else if (w[0] === 'npm' && w[1] === 'run' && w[2] && scripts[w[2]] && depth < 5)
      out.push(...jestCommands(scripts[w[2]]!, vars, scripts, depth + 1));
    else if (w[0] === 'npm' && w[1] === 'test' && scripts.test && depth < 5)
      out.push(...jestCommands(scripts.test, vars, scripts, depth + 1));
  }
  return out;
}

function toRun(where: string, args: string[], projectNames: Set<string>): JestRun {
  const run: JestRun = { where, projects: [], patterns: [], flags: [] };
  let inProjects = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--selectProjects') inProjects = true;
    else if (a === '--testPathPatterns' || a === '--testPathPattern') {
      inProjects = false;
      if (args[i + 1]) run.patterns.push(args[++i]!);
    } else if (a.startsWith('-')) {
      inProjects = false;
      run.flags.push(a);
    } else if (inProjects && projectNames.has(a)) run.projects.push(a);
    else run.patterns.push(a);
  }
  return run;
}

/** Every jest invocation of the workflows in `<root>/.github/workflows`. */
export function workflowJestRuns(root: string, files?: string[]): JestRun[] {
  const dir = path.join(root, '.github', 'workflows');
  const names = files ?? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  const scripts = (
    JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  ).scripts;
  const projectNames = new Set(jestProjects(root).map((p) => p.name));
  const load = (f: string) => parse(readFileSync(path.join(dir, f), 'utf8'));
  const runs: JestRun[] = [];
  const steps = (job: any, where: string, inputs: Record<string, unknown>) => {
    for (const step of job.steps ?? []) {
      if (typeof step.run !== 'string') continue;
      const expr = (v: string) =>
        v
          .replace(/\$\{\{\s*inputs\.([\w-]+)\s*\}\}/g, (_all, k: string) => String(inputs[k] ?? ''))
          .replace(/\$\{\{\s*github\.workspace\s*\}\}/g, root);
      const vars: Record<string, string> = { GITHUB_WORKSPACE: root, PWD: root };
      for (const [k, v] of Object.entries(step.env ?? {})) vars[k] = expr(String(v));
      for (const args of jestCommands(expr(step.run), vars, scripts)) runs.push(toRun(where, args, projectNames));
    }
  };
  for (const f of names) {
    const wf = load(f);
    const triggers = typeof wf.on === 'string' ? [wf.on] : Object.keys(wf.on ?? {});
    if (triggers.length === 1 && triggers[0] === 'workflow_call') continue; // run through its callers
    for (const [id, job] of Object.entries<any>(wf.jobs ?? {})) {
      const where = `${f}/${id}`;
      const local = typeof job.uses === 'string' ? /^\.\/\.github\/workflows\/(.+)$/.exec(job.uses) : null;
      if (local) {
        for (const called of Object.values<any>(load(local[1]!).jobs ?? {})) steps(called, where, job.with ?? {});
      } else steps(job, where, {});
    }
  }
  return runs;
}

/** Whether `run` runs the repository-relative test file `rel` (project and path patterns as jest applies them). */
export function runs(run: JestRun, rel: string, projects: JestProject[], root: string): boolean {
  const inProject = projects.some(
    (p) => (run.projects.length === 0 || run.projects.includes(p.name)) && p.matches(rel),
  );
  if (!inProject) return false;
  const abs = path.join(root, rel);
  return run.patterns.length === 0 || run.patterns.some((p) => new RegExp(p, 'i').test(abs));
}

function walk(root: string, rel: string, out: string[]): void {
  for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
    if (['node_modules', '.git', '.state', 'test-artifacts'].includes(e.name)) continue;
    const child = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) walk(root, child, out);
    else out.push(child);
  }
}

/**
 * Integration test locations: every `test/integration` folder and every folder holding a `*.itest.ts`, with the
 * test files under it (a folder without any is represented by a would-be `x.itest.ts` in it).
 */
export function integrationLocations(root: string): Map<string, string[]> {
  const files: string[] = [];
  walk(root, '', files);
  const locations = new Map<string, string[]>();
  const dirs = new Set<string>();
  for (const f of files) {
    const d = path.posix.dirname(f);
    if (f.endsWith('.itest.ts')) dirs.add(d);
    const m = /^(.*\/)?test\/integration(\/|$)/.exec(d + '/');
    if (m) dirs.add(`${m[1] ?? ''}test/integration`);
  }
  for (const d of [...dirs].sort()) {
    const tests = files.filter((f) => f.startsWith(`${d}/`) && f.endsWith('.itest.ts'));
    locations.set(d, tests.length ? tests : [`${d}/x.itest.ts`]);
  }
  return locations;
}

/** Locations with a test file that no workflow run runs, each with those files. */
export function uncoveredLocations(
  locations: Map<string, string[]>,
  jestRuns: JestRun[],
  projects: JestProject[],
  root: string,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [dir, tests] of locations) {
    const missed = tests.filter((t) => !jestRuns.some((r) => runs(r, t, projects, root)));
    if (missed.length) out[dir] = missed;
  }
  return out;
}
