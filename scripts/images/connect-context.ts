/**
 * The build context of docker/connect/Dockerfile: the Connect worker's classpath and the Debezium plugin, exactly
 * the jars `npm start` runs (Maven-resolved into the jar cache by cdc/src/runtime/provision.ts), hard-linked (or
 * copied) into `dir` with the Dockerfile's own files.
 */
import { copyFileSync, cpSync, linkSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { provisionCdcJars } from '../../cdc/src/runtime/provision';
import { JAR_CACHE, REPO_ROOT } from '../stack/layout';

export const CONNECT_DOCKER_DIR = path.join(REPO_ROOT, 'docker', 'connect');

/** The jars of a classpath string (`a.jar:b.jar:…`); directories and empty entries are left out. */
export function classpathJars(classpath: string): string[] {
  return classpath.split(path.delimiter).filter((p) => p.endsWith('.jar'));
}

function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

/** Stages the context into `dir` (emptied first); returns the number of worker and plugin jars. */
export function stageConnectContext(dir: string, log: (line: string) => void): { libs: number; plugin: number } {
  const jars = provisionCdcJars(JAR_CACHE, log);
  rmSync(dir, { recursive: true, force: true });
  const libs = path.join(dir, 'libs');
  mkdirSync(libs, { recursive: true });
  const worker = classpathJars(jars.classpath);
  for (const jar of worker) linkOrCopy(jar, path.join(libs, path.basename(jar)));
  cpSync(jars.pluginPath, path.join(dir, 'plugins'), { recursive: true });
  for (const f of ['log4j2.properties', 'connect-distributed.properties'])
    copyFileSync(path.join(CONNECT_DOCKER_DIR, f), path.join(dir, f));
  const plugin = readdirSync(path.join(dir, 'plugins', 'debezium-connector-postgres')).length;
  return { libs: worker.length, plugin };
}
