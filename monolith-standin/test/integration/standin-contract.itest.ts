import { CONTRACT_CHECKS, preflight } from '@warmhouse/monolith-contract';
import { readTestEndpoints } from '../../../test/stack-endpoints';
import { heatingRows, startStandIn, type HeatingRow, type StandInUnderTest } from '../standin-harness';

/** The stand-in must pass the monolith contract, the same suite that later runs against the proxy. */
describe('the monolith stand-in passes the monolith contract', () => {
  let standIn: StandInUnderTest;
  let seeded: HeatingRow[];

  beforeAll(async () => {
    standIn = await startStandIn(readTestEndpoints().postgres.superuserUrl, 'standin_contract');
    seeded = await heatingRows(standIn.pool);
    await preflight({ baseUrl: standIn.baseUrl });
  });
  afterAll(() => standIn?.stop());

  for (const check of CONTRACT_CHECKS) {
    it(`${check.name}: ${check.description}`, () => check.run({ baseUrl: standIn.baseUrl }));
  }

  it('the checks left every heating system as they found it', async () => {
    expect(await heatingRows(standIn.pool)).toEqual(seeded);
  });

  // Beyond the black-box contract: only here can the test play the field hardware and write the row directly.
  it('current-temperature reads what the hardware stored, written as a Java double, while GET keeps 0.0', async () => {
    const read = async () => {
      const [current, system] = await Promise.all([
        fetch(`${standIn.baseUrl}/api/heating/3/current-temperature`).then((r) => r.text()),
        fetch(`${standIn.baseUrl}/api/heating/3`).then((r) => r.text()),
      ]);
      return { current, system };
    };
    try {
      await standIn.pool.query('UPDATE heating_systems SET current_temperature = 21.5 WHERE id = 3');
      expect(await read()).toEqual({
        current: '21.5',
        system: '{"id":3,"targetTemperature":19.0,"currentTemperature":0.0,"on":false}',
      });
      await standIn.pool.query('UPDATE heating_systems SET current_temperature = 19 WHERE id = 3');
      expect((await read()).current).toBe('19.0');
    } finally {
      await standIn.pool.query('UPDATE heating_systems SET current_temperature = $1 WHERE id = 3', [
        seeded.find((r) => r.id === '3')?.current_temperature,
      ]);
    }
  });
});
