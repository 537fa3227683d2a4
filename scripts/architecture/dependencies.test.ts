import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/*
 * The package rules of docs/architecture.md, enforced: workspaces depend in one direction (ALLOWED), every workspace
 * import is declared in the importer's package.json, production code stays inside its workspace and never imports a
 * test double, and the `unit` project starts no process (those tests are `*.ptest.ts`, the `process` project).
 */

const ROOT = path.resolve(__dirname, '..', '..');

/** Which workspaces a workspace's production code may import (by package name, without the scope). */
export const ALLOWED: Record<string, readonly string[]> = {
  shared: [],
  messaging: ['shared'],
  'service-kit': ['shared'],
  'monolith-contract': ['shared'],
  'monolith-standin': ['shared', 'service-kit', 'monolith-contract'],
  'identity-provider': ['shared'],
  proxy: ['shared', 'messaging'],
  cdc: ['shared', 'messaging'],
  'cdc-monitor': ['shared', 'messaging', 'cdc'],
  'device-management': ['shared', 'messaging', 'service-kit', 'cdc', 'monolith-contract'],
  telemetry: ['shared', 'messaging', 'service-kit', 'cdc', 'monolith-contract'],
  delivery: [],
  runtime: [],
};

/** Workspaces that exist only to stand in for something in tests and local runs. */
const TEST_DOUBLES = new Set(['monolith-standin', 'identity-provider']);

interface Workspace {
  dir: string;
  name: string;
  dependencies: Set<string>;
  devDependencies: Set<string>;
}

function workspaces(): Workspace[] {
  const root = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] };
  const dirs = root.workspaces.flatMap((w) =>
    w.endsWith('/*')
      ? readdirSync(path.join(ROOT, w.slice(0, -2)), { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => `${w.slice(0, -2)}/${e.name}`)
      : [w],
  );
  return dirs.map((dir) => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, dir, 'package.json'), 'utf8')) as {
      name: string;
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    return {
      dir,
      name: pkg.name.replace(/^@warmhouse\//, ''),
      dependencies: new Set(Object.keys(pkg.dependencies ?? {})),
      devDependencies: new Set(Object.keys(pkg.devDependencies ?? {})),
    };
  });
}

function tsFiles(dir: string, out: string[] = []): string[] {
  let entries;
  try {
    entries = readdirSync(path.join(ROOT, dir), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const child = `${dir}/${e.name}`;
    if (e.isDirectory()) tsFiles(child, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(child);
  }
  return out;
}

/** Test code: tests, fixtures, test doubles in `testing/` folders, anything under `test/`. */
export function isTestCode(file: string): boolean {
  return (
    /\.(test|ptest|itest|fixture)\.ts$/.test(file) ||
    file.includes('/testing/') ||
    file.includes('/test/') ||
    file.endsWith('.suite.ts')
  );
}

/** Module specifiers imported by a file (static imports, re-exports, dynamic imports and requires). */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;
  for (let m = re.exec(source); m; m = re.exec(source)) out.push(m[1]!);
  return out;
}

const all = workspaces();
const byDir = all.map((w) => ({ w, files: tsFiles(w.dir) }));

describe('package dependencies (docs/architecture.md)', () => {
  it('knows every workspace', () => {
    expect(all.map((w) => w.name).sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  it('production code imports only the workspaces it may, and declares them as dependencies', () => {
    const problems: string[] = [];
    for (const { w, files } of byDir) {
      for (const file of files.filter((f) => !isTestCode(f))) {
        for (const spec of importsOf(readFileSync(path.join(ROOT, file), 'utf8'))) {
          const m = /^@warmhouse\/([^/]+)/.exec(spec);
          if (!m) continue;
          const dep = m[1]!;
          if (dep === w.name) problems.push(`${file}: imports its own package by name (${spec})`);
          else if (!ALLOWED[w.name]!.includes(dep)) problems.push(`${file}: ${w.name} may not depend on ${dep}`);
          else if (!w.dependencies.has(`@warmhouse/${dep}`))
            problems.push(`${file}: imports @warmhouse/${dep}, not in ${w.dir}/package.json dependencies`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('tests declare the workspaces they import (dependencies or devDependencies)', () => {
    const problems: string[] = [];
    for (const { w, files } of byDir) {
      for (const file of files.filter(isTestCode)) {
        for (const spec of importsOf(readFileSync(path.join(ROOT, file), 'utf8'))) {
          const m = /^@warmhouse\/([^/]+)/.exec(spec);
          if (!m || m[1] === w.name) continue;
          const name = `@warmhouse/${m[1]}`;
          if (!w.dependencies.has(name) && !w.devDependencies.has(name))
            problems.push(`${file}: imports ${name}, not declared in ${w.dir}/package.json`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('production code stays inside its workspace and never imports a test double', () => {
    const problems: string[] = [];
    for (const { w, files } of byDir) {
      for (const file of files.filter((f) => !isTestCode(f))) {
        for (const spec of importsOf(readFileSync(path.join(ROOT, file), 'utf8'))) {
          if (spec.startsWith('.')) {
            const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
            if (!target.startsWith(`${w.dir}/`)) problems.push(`${file}: reaches outside ${w.dir} (${spec})`);
            else if (target.includes('/testing/')) problems.push(`${file}: imports a test double (${spec})`);
          }
          const m = /^@warmhouse\/([^/]+)/.exec(spec);
          if (m && TEST_DOUBLES.has(m[1]!)) problems.push(`${file}: imports the test double ${spec}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('unit tests start no process (process-spawning tests are *.ptest.ts)', () => {
    const spawning = byDir
      .flatMap(({ files }) => files)
      .concat(tsFiles('scripts'))
      .filter((f) => f.endsWith('.test.ts'))
      .filter((f) =>
        /from '(node:)?child_process'|\bstartProcess\(|\bstartProxyProcess\(/.test(
          readFileSync(path.join(ROOT, f), 'utf8'),
        ),
      )
      .filter((f) => f !== 'scripts/architecture/dependencies.test.ts');
    expect(spawning).toEqual([]);
  });

  describe('the checks themselves', () => {
    it('read imports of every form', () => {
      const src = [
        "import { a } from '@warmhouse/shared';",
        "export * from './x';",
        "import type { B } from '../b';",
        "const c = await import('@warmhouse/cdc');",
        "const d = require('node:fs');",
        "import 'side-effect';",
      ].join('\n');
      expect(importsOf(src)).toEqual(['@warmhouse/shared', './x', '../b', '@warmhouse/cdc', 'node:fs', 'side-effect']);
    });

    it('tell test code from production code', () => {
      expect(isTestCode('proxy/src/proxy.ts')).toBe(false);
      expect(isTestCode('proxy/src/testing/harness.ts')).toBe(true);
      expect(isTestCode('cdc/src/runtime/supervisor.fixture.ts')).toBe(true);
      expect(isTestCode('proxy/test/integration/fleet.itest.ts')).toBe(true);
      expect(isTestCode('monolith-contract/src/contract.suite.ts')).toBe(true);
    });
  });
});
