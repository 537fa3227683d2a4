import { writeCheck } from '../check';
import { allCases, expectThat } from '../expect';
import type { HeatingAnswer } from '../heating-api';

/** A target temperature different from the current one, so that every change is observable. */
const differentFrom = (current: number, preferred: number, fallback: number) =>
  current === preferred ? fallback : preferred;

/**
 * Checks of a PUT whose body leaves a field out: from the state `before`, PUT `body` answers what `answered` accepts
 * and stores `stored`.
 */
function partialPutChecks(
  cases: Array<{
    name: string;
    description: string;
    before: { on: boolean; targetTemperature: number };
    body: string;
    answered: (answer: HeatingAnswer) => boolean;
    /** what `answered` accepts, for the failure message */
    expected: string;
    stored: { on: boolean; targetTemperature: string };
  }>,
) {
  return cases.map((c) =>
    writeCheck(c.name, c.description, async (api) => {
      await api.put(c.before);
      const answer = await api.put(c.body);
      expectThat(
        c.answered(answer),
        `PUT ${c.body} on a system that is ${c.before.on ? 'on' : 'off'} should answer ${c.expected}`,
        answer.exchange,
      );
      await api.expectStored(c.stored, `PUT ${c.body}`);
    }),
  );
}

export const writeChecks = [
  writeCheck(
    'put-applies-settings',
    'PUT /api/heating/{id} applies on and targetTemperature and answers the updated system; GET shows it',
    async (api, original) => {
      const on = !original.on;
      const target = differentFrom(original.targetTemperature, 23.5, 24.5);
      const answer = await api.put({ on, targetTemperature: target });
      expectThat(
        answer.value.on === on && answer.value.targetTemperature === target,
        `PUT {"on":${on},"targetTemperature":${target}} should answer the updated system, got on=${answer.value.on}, ` +
          `targetTemperature=${answer.value.targetTemperature}`,
        answer.exchange,
      );
      expectThat(
        answer.lexemes.get('/currentTemperature') === '0.0',
        'the PUT answer is a heating system DTO too: currentTemperature must be 0.0',
        answer.exchange,
      );
      await api.expectStored({ on, targetTemperature: String(target) }, 'the PUT');
    },
  ),

  writeCheck(
    'put-ignores-other-fields',
    'PUT ignores id, currentTemperature and unknown properties in the body',
    async (api) => {
      const body = `{"id":${api.ctx.missingId},"on":true,"targetTemperature":19.5,"currentTemperature":77.125,"colour":"red"}`;
      const answer = await api.put(body);
      expectThat(
        answer.value.on &&
          answer.value.targetTemperature === 19.5 &&
          answer.lexemes.get('/currentTemperature') === '0.0',
        'PUT should apply only on and targetTemperature and answer currentTemperature 0.0',
        answer.exchange,
      );
      await api.expectStored({ on: true, targetTemperature: '19.5' }, `PUT ${body}`);
      const current = await api.currentTemperature();
      expectThat(
        current.value !== 77.125,
        `current-temperature shows the PUT body's currentTemperature 77.125: only the field hardware may write it`,
        current.exchange,
      );
    },
  ),

  ...partialPutChecks([
    {
      name: 'put-missing-on-means-false',
      description: 'PUT without "on" turns the system off (a missing boolean is false)',
      before: { on: true, targetTemperature: 21.5 },
      body: '{"targetTemperature":22.5}',
      answered: (a) => a.value.on === false && a.value.targetTemperature === 22.5,
      expected: 'on=false, targetTemperature=22.5',
      stored: { on: false, targetTemperature: '22.5' },
    },
    {
      name: 'put-missing-target-temperature-means-zero',
      description: 'PUT without "targetTemperature" sets it to 0.0',
      before: { on: false, targetTemperature: 21.5 },
      body: '{"on":true}',
      answered: (a) => a.value.on === true && a.lexemes.get('/targetTemperature') === '0.0',
      expected: 'on=true, targetTemperature=0.0',
      stored: { on: true, targetTemperature: '0.0' },
    },
  ]),

  writeCheck('put-ignores-is-on', 'PUT ignores "isOn": only "on" sets the boolean', async (api) => {
    await api.put({ on: true, targetTemperature: 21.5 });
    const withoutOn = await api.put('{"isOn":true,"targetTemperature":20.5}');
    expectThat(
      withoutOn.value.on === false,
      'PUT {"isOn":true,"targetTemperature":20.5} should turn the system off: isOn is unknown, on is missing',
      withoutOn.exchange,
    );
    await api.expectStored({ on: false, targetTemperature: '20.5' }, 'PUT {"isOn":true,…}');
    const withOn = await api.put('{"isOn":false,"on":true,"targetTemperature":20.5}');
    expectThat(
      withOn.value.on === true,
      'PUT {"isOn":false,"on":true,…} should turn the system on: isOn is ignored',
      withOn.exchange,
    );
  }),

  writeCheck(
    'heating-system-exact-bytes',
    'PUT and GET answer the monolith\'s exact bytes: {"id":1,"targetTemperature":21.0,"currentTemperature":0.0,"on":true}',
    async (api) => {
      for (const [on, sent, written] of [
        [true, '21', '21.0'],
        [false, '18.5', '18.5'],
      ] as const) {
        const expected = `{"id":${api.id},"targetTemperature":${written},"currentTemperature":0.0,"on":${on}}`;
        const put = await api.put(`{"on":${on},"targetTemperature":${sent}}`);
        expectThat(put.exchange.text === expected, `the PUT answer should be exactly ${expected}`, put.exchange);
        const get = await api.get();
        expectThat(get.exchange.text === expected, `the GET answer should be exactly ${expected}`, get.exchange);
      }
    },
  ),

  writeCheck(
    'java-double-values',
    "temperatures are written with Java's Double.toString: 21 → 21.0, -5 → -5.0, 1e7 → 1.0E7, 0.0001 → 1.0E-4",
    async (api) => {
      const values: Array<[sent: string, written: string]> = [
        ['21', '21.0'],
        ['-5', '-5.0'],
        ['22.25', '22.25'],
        ['0.001', '0.001'],
        ['9999999', '9999999.0'],
        ['10000000', '1.0E7'],
        ['0.0001', '1.0E-4'],
      ];
      await allCases(
        values.map(([sent, written]) => ({
          name: `targetTemperature ${sent}`,
          run: async () => {
            const put = await api.put(`{"on":false,"targetTemperature":${sent}}`);
            const lexeme = put.lexemes.get('/targetTemperature');
            expectThat(lexeme === written, `should be written ${written}, got ${lexeme ?? 'none'}`, put.exchange);
          },
        })),
      );
    },
  ),

  ...(['turn-on', 'turn-off'] as const).map((action) => {
    const on = action === 'turn-on';
    return writeCheck(
      action,
      `POST /api/heating/{id}/${action} answers 204 with an empty body; GET then shows on: ${on}, targetTemperature unchanged`,
      async (api) => {
        const press = () => (on ? api.turnOn() : api.turnOff());
        await api.put({ on: !on, targetTemperature: 21.5 });
        await press();
        await api.expectStored({ on, targetTemperature: '21.5' }, action);
        await press();
        await api.expectStored({ on, targetTemperature: '21.5' }, `a second ${action}`);
      },
    );
  }),

  writeCheck(
    'set-temperature',
    'POST /api/heating/{id}/set-temperature?temperature=22.5 answers 204 with an empty body; GET then shows 22.5, on unchanged',
    async (api) => {
      await api.put({ on: true, targetTemperature: 20.5 });
      await api.setTemperature('22.5');
      await api.expectStored({ on: true, targetTemperature: '22.5' }, 'set-temperature?temperature=22.5');
      await api.put({ on: false, targetTemperature: 20.5 });
      await api.setTemperature('24');
      await api.expectStored({ on: false, targetTemperature: '24.0' }, 'set-temperature?temperature=24');
    },
  ),
];
