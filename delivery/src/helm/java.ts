import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { STATE_DIR } from '../paths';

const sha = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);

/** Writes a file through a temporary name, so parallel test workers never read half a file. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * The classpath of a dependency-only pom, asked of Maven once and cached under `.state/delivery/`
 * keyed by the pom's content (the first run downloads the jars into `~/.m2`).
 */
export function mavenClasspath(pom: string): string {
  mkdirSync(STATE_DIR, { recursive: true });
  const key = sha(readFileSync(pom, 'utf8'));
  const cached = path.join(STATE_DIR, `${path.basename(path.dirname(pom))}-${key}.classpath`);
  if (existsSync(cached)) {
    const cp = readFileSync(cached, 'utf8').trim();
    if (cp.split(path.delimiter).every((jar) => existsSync(jar))) return cp;
  }
  const out = `${cached}.${process.pid}.out`;
  try {
    execFileSync('mvn', ['-q', '-B', '-f', pom, 'dependency:build-classpath', `-Dmdep.outputFile=${out}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 600_000,
    });
  } catch (err) {
    const e = err as Error & { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`mvn could not resolve ${pom}:\n${String(e.stdout ?? '')}${String(e.stderr ?? '')}`, {
      cause: err,
    });
  }
  const cp = readFileSync(out, 'utf8').trim();
  rmSync(out, { force: true });
  writeAtomic(cached, cp);
  return cp;
}

/**
 * Compiles a single-file Java program against a classpath once (cached by source and classpath) and returns
 * the directory of its classes.
 */
export function compileJava(source: string, classpath: string): string {
  const dir = path.join(STATE_DIR, `classes-${sha(readFileSync(source, 'utf8'), classpath)}`);
  if (existsSync(path.join(dir, 'done'))) return dir;
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync(javaTool('javac'), ['-nowarn', '-cp', classpath, '-d', tmp, source], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  writeFileSync(path.join(tmp, 'done'), '');
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another worker got there first
  }
  return dir;
}

/** `java`/`javac` of JAVA_HOME when set, else from PATH. */
export function javaTool(tool: 'java' | 'javac', javaHome = process.env.JAVA_HOME): string {
  return javaHome ? path.join(javaHome, 'bin', tool) : tool;
}
