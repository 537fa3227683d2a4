import { exitIfPortsInUse, startTestStack } from './global-setup';
import { ENDPOINTS_3BROKER_FILE, TEST_3BROKER_PORT_BASE, TEST_3BROKER_STATE_DIR } from './stack-endpoints';

/** The `integration-3broker` project's stack: the same backbone with a 3-node KRaft cluster (RF 3, min ISR 2). */
export default async function globalSetup(): Promise<void> {
  await exitIfPortsInUse(
    '3-broker test stack',
    startTestStack({
      stateDir: TEST_3BROKER_STATE_DIR,
      portBase: TEST_3BROKER_PORT_BASE,
      endpointsFile: ENDPOINTS_3BROKER_FILE,
      kafkaNodes: 3,
      label: '3-broker test stack',
      portVariable: 'TEST_STACK_3BROKER_PORT_BASE',
    }),
  );
}
