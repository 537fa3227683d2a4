import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const STATE_ROOT = path.join(REPO_ROOT, '.state');
/** Maven-resolved jars, shared by every stack on this clone. */
export const JAR_CACHE = path.join(STATE_ROOT, 'jars');

/** Every port of a stack is `base + offset`, so a developer's stack and the test stack never clash. */
export function portsFor(base: number) {
  return {
    proxy: base,
    proxyAdmin: base + 1,
    cdcMonitor: base + 2,
    monolith: base + 80,
    deviceManagement: base + 81,
    telemetry: base + 82,
    connect: base + 83,
    kafka: base + 92,
    kafkaController: base + 93,
    postgres: base + 432,
  };
}
export type StackPorts = ReturnType<typeof portsFor>;

export const DEV_PORT_BASE = 17000;
