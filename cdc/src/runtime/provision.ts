import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const RUNTIME_POM = path.resolve(__dirname, '..', '..', 'runtime', 'maven', 'pom.xml');

/** What the broker and the Connect worker run from: a classpath and a Connect plugin folder. */
export interface CdcJars {
  classpath: string;
  pluginPath: string;
  kafkaVersion: string;
  debeziumVersion: string;
}

function pomProperty(pom: string, name: string): string {
  const match = new RegExp(`<${name.replace('.', '\\.')}>([^<]+)</`).exec(pom);
  if (!match?.[1]) throw new Error(`${RUNTIME_POM} has no <${name}>`);
  return match[1];
}

/** Fails with an install hint unless a JDK 17+ `java` is on the PATH. */
export function checkJava(): number {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (result.error)
    throw new Error('java not found: install a JDK 17 or newer (Debian: apt-get install openjdk-17-jdk-headless)');
  const major = Number(/version "(\d+)/.exec(result.stderr)?.[1] ?? 0);
  if (major < 17) throw new Error(`Java ${major || '(unknown)'} found, Kafka 4 and Debezium 3 need Java 17 or newer`);
  return major;
}

function mvn(args: string[]): void {
  try {
    execFileSync('mvn', ['-q', '-B', '-f', RUNTIME_POM, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 15 * 60_000,
    });
  } catch (err) {
    const e = err as { code?: string; stdout?: Buffer; stderr?: Buffer };
    if (e.code === 'ENOENT') throw new Error('mvn not found: install Apache Maven (Debian: apt-get install maven)');
    const out = `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`
      .split('\n')
      .filter((l) => l.includes('ERROR'))
      .slice(0, 5)
      .join('\n');
    throw new Error(`Maven could not resolve the CDC jars (mvn ${args[0]}):\n${out}`, { cause: err });
  }
}

/**
 * Resolves Kafka, Connect and Debezium from Maven Central (cached in ~/.m2) once per pom version;
 * later runs reuse the cached classpath file and plugin folder under `<cacheDir>/<pom hash>`.
 */
export function provisionCdcJars(cacheDir: string, log: (line: string) => void = () => {}): CdcJars {
  const pom = readFileSync(RUNTIME_POM, 'utf8');
  const kafkaVersion = pomProperty(pom, 'kafka.version');
  const debeziumVersion = pomProperty(pom, 'debezium.version');
  const dir = path.join(cacheDir, createHash('sha256').update(pom).digest('hex').slice(0, 16));
  const classpathFile = path.join(dir, 'classpath.txt');
  const pluginPath = path.join(dir, 'plugins');
  const pluginDir = path.join(pluginPath, 'debezium-connector-postgres');
  const done = path.join(dir, '.complete');

  if (!existsSync(done)) {
    checkJava();
    log(`resolving Kafka ${kafkaVersion} and Debezium ${debeziumVersion} jars with Maven (first run only)`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    mvn(['-Pruntime', 'dependency:build-classpath', `-Dmdep.outputFile=${classpathFile}`]);
    const staging = path.join(dir, 'staging');
    // Leave out what the worker already has, as Debezium's own plugin archive does.
    mvn([
      '-Pdebezium',
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${staging}`,
      '-DexcludeGroupIds=org.apache.kafka,com.fasterxml.jackson.core,com.fasterxml.jackson.datatype,com.github.luben',
      '-DexcludeArtifactIds=slf4j-api',
    ]);
    mkdirSync(pluginPath, { recursive: true });
    cpSync(staging, pluginDir, { recursive: true });
    rmSync(staging, { recursive: true, force: true });
    if (!readdirSync(pluginDir).some((f) => f.startsWith('debezium-connector-postgres-'))) {
      throw new Error(`Debezium plugin jar missing in ${pluginDir}`);
    }
    writeFileSync(done, new Date().toISOString());
  }
  return { classpath: readFileSync(classpathFile, 'utf8').trim(), pluginPath, kafkaVersion, debeziumVersion };
}
