import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Where the integration-test stack listens; written by test/global-setup.ts, read by every integration test. */
export interface StackEndpoints {
  postgres: {
    host: string;
    port: number;
    /** superuser connection to the `postgres` database (create databases, inspect slots) */
    superuserUrl: string;
    /** the monolith database `smart_home` as the monolith's own role (owner of its tables) */
    monolithUrl: string;
  };
  kafka: { brokers: string[] };
  connect: { url: string };
  /** Debezium topic names */
  topics: { heatingSystems: string; temperatureSensors: string; heartbeat: string };
  connectorName: string;
  slotName: string;
  /** what test/stack-control.ts needs to stop and start the Connect worker again */
  connectWorker: { stateDir: string; port: number; bootstrap: string; classpath: string; pluginPath: string };
  /** the Kafka nodes (one, or three in the 3-broker stack), for tests that kill and restart one */
  kafkaNodes: Array<{ id: number; port: number; controllerPort: number }>;
}

/** Port base of the integration stack; separate bases (and state folders) let several runs coexist on one machine. */
export const TEST_PORT_BASE = Number(process.env.TEST_STACK_PORT_BASE ?? 27000);
export const TEST_STATE_DIR = path.resolve(__dirname, '..', '.state', `test-${TEST_PORT_BASE}`);
export const ENDPOINTS_FILE = path.join(TEST_STATE_DIR, 'endpoints.json');

/**
 * The 3-broker stack of the `integration-3broker` project: its own port base (TEST_STACK_3BROKER_PORT_BASE, default
 * TEST_STACK_PORT_BASE + 500, offsets up to +432) and its own state folder, so it can run beside the 1-node stack.
 */
export const TEST_3BROKER_PORT_BASE = Number(process.env.TEST_STACK_3BROKER_PORT_BASE ?? TEST_PORT_BASE + 500);
export const TEST_3BROKER_STATE_DIR = path.resolve(__dirname, '..', '.state', `test-3broker-${TEST_3BROKER_PORT_BASE}`);
export const ENDPOINTS_3BROKER_FILE = path.join(TEST_3BROKER_STATE_DIR, 'endpoints.json');

export function readTestEndpoints(file = ENDPOINTS_FILE): StackEndpoints {
  return JSON.parse(readFileSync(file, 'utf8')) as StackEndpoints;
}
