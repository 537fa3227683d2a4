import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startProcess, type ManagedProcess, type PidRegistry } from './processes';

const LOG4J_CONFIG = path.join(__dirname, 'log4j2.properties');

/** Starts a JVM main class from the CDC classpath, logging to `<dir>/<name>.log`. */
export function startJavaService(opts: {
  name: string;
  dir: string;
  classpath: string;
  mainClass: string;
  args: string[];
  heap: string;
  registry: PidRegistry;
}): ManagedProcess {
  mkdirSync(opts.dir, { recursive: true });
  const logFile = path.join(opts.dir, `${opts.name}.log`);
  return startProcess({
    name: opts.name,
    command: 'java',
    args: [
      `-Xmx${opts.heap}`,
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${LOG4J_CONFIG}`,
      `-Dwarmhouse.log.file=${logFile}`,
      '-cp',
      opts.classpath,
      opts.mainClass,
      ...opts.args,
    ],
    logFile: path.join(opts.dir, `${opts.name}.stdout`),
    registry: opts.registry,
    marker: opts.dir,
  });
}

export { untilReady } from './processes';
