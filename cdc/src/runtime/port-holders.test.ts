import { classifyHolder, judgePort, type HolderFacts, type PortObservation, type StackIdentity } from './port-holders';

const stack: StackIdentity = {
  current: 500,
  incarnations: [
    { pid: 400, startTime: 9_000 }, // e.g. the Connect worker just stopped
    { pid: 300 }, // recorded by an older registry without a start time
  ],
  marker: '/repo/.state/test-29500/',
};

describe('classifyHolder', () => {
  const cases: Array<[string, HolderFacts, StackIdentity, ReturnType<typeof classifyHolder>]> = [
    ['the process just started', { pid: 500, pgid: 500 }, stack, 'current'],
    ['a child in the started process group', { pid: 501, pgid: 500 }, stack, 'current'],
    [
      'a recorded earlier process (same pid and start time)',
      { pid: 400, startTime: 9_000, pgid: 400 },
      stack,
      'previous',
    ],
    [
      'a recorded earlier process being torn down: no command line, leader a zombie',
      { pid: 400, startTime: 9_000, pgid: 400, commandLine: '' },
      stack,
      'previous',
    ],
    ['a recorded pid whose start time was not recorded', { pid: 300, startTime: 123, pgid: 300 }, stack, 'previous'],
    [
      'a recycled pid: recorded pid, another start time',
      { pid: 400, startTime: 9_999, pgid: 400, commandLine: 'nc -l 27083' },
      stack,
      'foreign',
    ],
    ['a child in the group of a recorded process', { pid: 401, startTime: 9_100, pgid: 400 }, stack, 'previous'],
    [
      'an unrecorded process of the same state folder (a leftover of a crashed run)',
      { pid: 777, commandLine: 'java -Dwarmhouse.log.file=/repo/.state/test-29500/connect/connect.log …' },
      stack,
      'previous',
    ],
    [
      'a process of another state folder whose name starts the same',
      { pid: 778, commandLine: 'java -Dwarmhouse.log.file=/repo/.state/test-295001/connect/connect.log' },
      stack,
      'foreign',
    ],
    ['a foreign program', { pid: 900, pgid: 900, commandLine: 'nc -l 27083' }, stack, 'foreign'],
    [
      'before anything is started (no current process): a recorded one is previous',
      { pid: 400, startTime: 9_000 },
      { ...stack, current: undefined },
      'previous',
    ],
    [
      'without any stack identity, everything is foreign',
      { pid: 400, startTime: 9_000 },
      { incarnations: [] },
      'foreign',
    ],
  ];
  it.each(cases)('%s', (_, holder, identity, expected) => {
    expect(classifyHolder(holder, identity)).toBe(expected);
  });
});

describe('judgePort', () => {
  const seen = (o: Partial<PortObservation>): PortObservation => ({
    listening: true,
    holders: [],
    incarnationExiting: false,
    ...o,
  });
  const foreign: HolderFacts = { pid: 900, pgid: 900, commandLine: 'nc -l 27083' };
  const previous: HolderFacts = { pid: 400, startTime: 9_000, pgid: 400 };
  const current: HolderFacts = { pid: 500, pgid: 500 };

  const cases: Array<[string, PortObservation, StackIdentity, ReturnType<typeof judgePort>]> = [
    ['nothing listens', seen({ listening: false }), stack, { verdict: 'free' }],
    [
      'nothing listens, even while an incarnation exits',
      seen({ listening: false, incarnationExiting: true }),
      stack,
      { verdict: 'free' },
    ],
    ['the started process holds it', seen({ holders: [current] }), stack, { verdict: 'ours' }],
    [
      'the previous incarnation still holds it: wait',
      seen({ holders: [previous] }),
      stack,
      { verdict: 'wait', pids: [400] },
    ],
    [
      'previous and current both (SO_REUSEPORT): not ours alone yet, wait',
      seen({ holders: [current, previous] }),
      stack,
      { verdict: 'wait', pids: [400] },
    ],
    ['a foreign program: refuse', seen({ holders: [foreign] }), stack, { verdict: 'foreign', pids: [900] }],
    [
      'a foreign program beside the previous incarnation: refuse (waiting would not free it)',
      seen({ holders: [previous, foreign] }),
      stack,
      { verdict: 'foreign', pids: [900] },
    ],
    ['someone nobody can name, nothing of ours exiting', seen({}), stack, { verdict: 'unknown' }],
    [
      'someone nobody can name while an incarnation is still torn down: wait',
      seen({ incarnationExiting: true }),
      stack,
      { verdict: 'wait', pids: [] },
    ],
    ['/proc/net unreadable, nobody named', seen({ listening: undefined }), stack, { verdict: 'unknown' }],
    [
      'no stack identity (a plain port check): a recorded pid is foreign',
      seen({ holders: [previous] }),
      { incarnations: [] },
      { verdict: 'foreign', pids: [400] },
    ],
  ];
  it.each(cases)('%s', (_, observation, identity, expected) => {
    expect(judgePort(observation, identity)).toEqual(expected);
  });
});
