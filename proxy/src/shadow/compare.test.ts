import { compareAnswers, compareJson, splitPath, type NoiseRules } from './compare';

const strict: NoiseRules = { ignore: [], tolerance: 0, unorderedArrays: false };

describe('semantic JSON comparison with noise rules', () => {
  it.each<[string, unknown, unknown, Partial<NoiseRules>, string[]]>([
    ['20.0 vs 20 (the monolith writes 20.0)', JSON.parse('{"t":20.0}'), JSON.parse('{"t":20}'), {}, []],
    ['timestamp ignored', { id: 1, timestamp: 'a' }, { id: 1, timestamp: 'b' }, { ignore: ['$.timestamp'] }, []],
    ['timestamp not ignored', { id: 1, timestamp: 'a' }, { id: 1, timestamp: 'b' }, {}, ['$.timestamp']],
    [
      'nested wildcard ignore',
      {
        xs: [
          { at: 1, v: 1 },
          { at: 2, v: 2 },
        ],
      },
      {
        xs: [
          { at: 9, v: 1 },
          { at: 8, v: 2 },
        ],
      },
      { ignore: ['$.xs[*].at'] },
      [],
    ],
    ['numeric tolerance', { t: 20.001 }, { t: 20.004 }, { tolerance: 0.01 }, []],
    ['beyond tolerance', { t: 20 }, { t: 20.5 }, { tolerance: 0.01 }, ['$.t']],
    ['array order matters by default', { xs: [1, 2] }, { xs: [2, 1] }, {}, ['$.xs[0]', '$.xs[1]']],
    ['array order ignored', { xs: [1, 2, 2] }, { xs: [2, 1, 2] }, { unorderedArrays: true }, []],
    ['array multiset differs', { xs: [1, 2] }, { xs: [2, 3] }, { unorderedArrays: true }, ['$.xs[0]', '$.xs[*]']],
    ['missing key', { a: 1, b: 2 }, { a: 1 }, {}, ['$.b']],
    ['type change', { a: '1' }, { a: 1 }, {}, ['$.a']],
    ['null vs absent', { a: null }, {}, {}, ['$.a']],
  ])('%s', (_name, a, b, rules, paths) => {
    expect(compareJson(a, b, { ...strict, ...rules }).map((d) => d.path)).toEqual(paths);
  });

  it('compares status, selected headers (media type only) and non-JSON bodies byte for byte', () => {
    const ignored = () => false;
    const base = {
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: Buffer.from('{"a":1}'),
    };
    expect(compareAnswers(base, { ...base, headers: { 'content-type': 'application/json' } }, strict, ignored)).toEqual(
      [],
    );
    expect(compareAnswers(base, { ...base, status: 500 }, strict, ignored).map((d) => d.path)).toEqual(['status']);
    const text = { status: 200, headers: {}, body: Buffer.from('ok') };
    expect(compareAnswers(text, { ...text, body: Buffer.from('ko') }, strict, ignored).map((d) => d.path)).toEqual([
      'body',
    ]);
  });

  it('reads $-paths and refuses bad ones', () => {
    expect(splitPath('$.a.b[0][*]')).toEqual(['a', 'b', '0', '*']);
    expect(splitPath('$')).toEqual([]);
    expect(() => splitPath('a.b')).toThrow(/must start with/);
    expect(() => splitPath('$.a..b')).toThrow(/cannot read/);
  });
});
