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
    // the demo OpenID Provider (packages/identity-provider): local runs and tests only
    identityProvider: base + 90,
    connect: base + 83,
    kafka: base + 92,
    kafkaController: base + 93,
    // the two extra nodes of the 3-broker mode (WARMHOUSE_KAFKA_NODES=3); node 1 is kafka/kafkaController
    kafka2: base + 94,
    kafkaController2: base + 95,
    kafka3: base + 96,
    kafkaController3: base + 97,
    postgres: base + 432,
  };
}
export type StackPorts = ReturnType<typeof portsFor>;

export const DEV_PORT_BASE = 17000;

/** Client and controller ports of each Kafka node of a stack (1 node, or 3 in the 3-broker mode). */
export function kafkaNodeSpecs(ports: StackPorts, count: 1 | 3) {
  const all = [
    { id: 1, port: ports.kafka, controllerPort: ports.kafkaController },
    { id: 2, port: ports.kafka2, controllerPort: ports.kafkaController2 },
    { id: 3, port: ports.kafka3, controllerPort: ports.kafkaController3 },
  ];
  return all.slice(0, count);
}

/** Container images: base image tarballs by content hash, the staged Connect context, build logs (scripts/images). */
export const IMAGE_CACHE = path.join(STATE_ROOT, 'images');
