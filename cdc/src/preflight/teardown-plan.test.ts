import type { LedgerEntry } from './ledger';
import { planTeardown, type TeardownState } from './teardown-plan';

const ledger: LedgerEntry[] = [
  { kind: 'table', name: 'public.cdc_heartbeat', oid: 300 },
  { kind: 'publication', name: 'warmhouse_monolith_pub', oid: 200 },
  { kind: 'slot', name: 'warmhouse_monolith', oid: null },
  { kind: 'connector', name: 'monolith-heating', oid: null },
];
const state = (over: Partial<TeardownState> = {}): TeardownState => ({
  connectors: ['monolith-heating'],
  slots: [{ name: 'warmhouse_monolith', active: false, activePid: null }],
  publications: [{ name: 'warmhouse_monolith_pub', oid: 200 }],
  tables: [{ name: 'public.cdc_heartbeat', oid: 300 }],
  ...over,
});
const summary = (s: TeardownState, l = ledger) =>
  planTeardown(l, s).map((step) => `${step.entry.kind} ${step.action}${'reason' in step ? `: ${step.reason}` : ''}`);

describe('planTeardown', () => {
  it.each<[string, Partial<TeardownState>, string[]]>([
    [
      'everything there: connector, slot, publication, table in that order',
      {},
      ['connector remove', 'slot remove', 'publication remove', 'table remove'],
    ],
    [
      'an active slot is refused',
      { slots: [{ name: 'warmhouse_monolith', active: true, activePid: 42 }] },
      [
        'connector remove',
        'slot refuse: active (pid 42): stop its consumer first',
        'publication remove',
        'table remove',
      ],
    ],
    [
      'Connect unreachable',
      { connectors: null },
      [
        'connector refuse: Kafka Connect is not reachable (start the stack, or set CONNECT_URL)',
        'slot remove',
        'publication remove',
        'table remove',
      ],
    ],
    [
      'gone already',
      { connectors: [], slots: [], publications: [], tables: [] },
      [
        'connector forget: not registered any more',
        'slot forget: gone already',
        'publication forget: gone already',
        'table forget: gone already',
      ],
    ],
    [
      're-created by a DBA under the same name',
      { publications: [{ name: 'warmhouse_monolith_pub', oid: 999 }] },
      [
        'connector remove',
        'slot remove',
        'publication forget: re-created by someone else since (another oid): left alone',
        'table remove',
      ],
    ],
  ])('%s', (_n, over, expected) => {
    expect(summary(state(over))).toEqual(expected);
  });

  it('touches nothing the ledger does not name', () => {
    expect(planTeardown([], state())).toEqual([]);
    expect(summary(state(), [{ kind: 'slot', name: 'warmhouse_monolith', oid: null }])).toEqual(['slot remove']);
  });
});
