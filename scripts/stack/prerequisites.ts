import { spawnSync } from 'node:child_process';
import { findPostgresBinDir } from '../../cdc/src/runtime/postgres';

/** Every missing prerequisite at once, each with what to install. */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 11))
    missing.push(`Node.js 20.11 or newer (found ${process.versions.node})`);
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const javaMajor = Number(/version "(\d+)/.exec(java.stderr ?? '')?.[1] ?? 0);
  if (java.error) missing.push('Java 17+ (java not on PATH; Debian: apt-get install openjdk-17-jdk-headless)');
  else if (javaMajor < 17) missing.push(`Java 17+ (found Java ${javaMajor})`);
  if (spawnSync('mvn', ['-v'], { encoding: 'utf8' }).error)
    missing.push('Apache Maven (mvn not on PATH; Debian: apt-get install maven)');
  try {
    findPostgresBinDir();
  } catch (err) {
    missing.push((err as Error).message);
  }
  return missing;
}

export function assertPrerequisites(): void {
  const missing = missingPrerequisites();
  if (missing.length > 0) throw new Error(`missing prerequisites:\n${missing.map((m) => `  - ${m}`).join('\n')}`);
}
