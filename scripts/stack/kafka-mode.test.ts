import { serverProperties } from '../../cdc/src/runtime/kafka';
import { stackKafkaNodes } from './backbone';
import { kafkaNodeSpecs, portsFor } from './layout';

describe('3-broker mode', () => {
  it('WARMHOUSE_KAFKA_NODES is 1 by default, 3 on request, and anything else is refused naming the variable', () => {
    expect(stackKafkaNodes({})).toBe(1);
    expect(stackKafkaNodes({ WARMHOUSE_KAFKA_NODES: '1' })).toBe(1);
    expect(stackKafkaNodes({ WARMHOUSE_KAFKA_NODES: '3' })).toBe(3);
    for (const bad of ['2', 'three', '', '03'])
      expect(() => stackKafkaNodes({ WARMHOUSE_KAFKA_NODES: bad })).toThrow(/WARMHOUSE_KAFKA_NODES: must be 1 or 3/);
  });

  it('gives the extra nodes ports that collide with no other part of the stack', () => {
    const ports = portsFor(17000);
    const nodes = kafkaNodeSpecs(ports, 3);
    expect(nodes.map((n) => [n.port, n.controllerPort])).toEqual([
      [17092, 17093],
      [17094, 17095],
      [17096, 17097],
    ]);
    const all = Object.values(ports);
    expect(new Set(all).size).toBe(all.length);
    expect(kafkaNodeSpecs(ports, 1)).toEqual([nodes[0]]);
  });

  it('three nodes: replication factor 3, min.insync.replicas 2 everywhere, a static voter set of all three', () => {
    const nodes = kafkaNodeSpecs(portsFor(17000), 3);
    const props = serverProperties('/data', nodes[1]!, nodes);
    for (const line of [
      'node.id=2',
      'controller.quorum.voters=1@127.0.0.1:17093,2@127.0.0.1:17095,3@127.0.0.1:17097',
      'listeners=PLAINTEXT://127.0.0.1:17094,CONTROLLER://127.0.0.1:17095',
      'default.replication.factor=3',
      'min.insync.replicas=2',
      'offsets.topic.replication.factor=3',
      'transaction.state.log.replication.factor=3',
      'transaction.state.log.min.isr=2',
      'unclean.leader.election.enable=false',
    ])
      expect(props.split('\n')).toContain(line);
  });

  it('one node keeps the standalone single-node settings', () => {
    const [node] = kafkaNodeSpecs(portsFor(17000), 1);
    const props = serverProperties('/data', node!, [node!]).split('\n');
    expect(props).toContain('controller.quorum.bootstrap.servers=127.0.0.1:17093');
    expect(props).toContain('default.replication.factor=1');
    expect(props).toContain('min.insync.replicas=1');
  });
});
