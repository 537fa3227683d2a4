import { readCheck } from '../check';
import { expectThat } from '../expect';
import { JAVA_DOUBLE_LEXEME, JAVA_LONG_LEXEME } from '../raw-json';

export const readChecks = [
  readCheck(
    'get-heating-system',
    'GET /api/heating/{id} answers 200 application/json with exactly id, targetTemperature, currentTemperature and on (never isOn)',
    async (api) => {
      const answer = await api.get();
      expectThat(
        Object.keys(answer.value).sort().join() === 'currentTemperature,id,on,targetTemperature',
        `expected exactly the properties id, targetTemperature, currentTemperature, on; got ${Object.keys(answer.value).join(', ')}`,
        answer.exchange,
      );
    },
  ),

  readCheck(
    'get-current-temperature-is-zero',
    'GET /api/heating/{id} always shows currentTemperature 0.0, whatever current-temperature reports',
    async (api) => {
      const stored = await api.currentTemperature();
      const answer = await api.get();
      const lexeme = answer.lexemes.get('/currentTemperature');
      expectThat(
        lexeme === '0.0',
        `currentTemperature must be 0.0 (the monolith never copies it into the DTO); got ${lexeme ?? 'none'} ` +
          `while current-temperature reports ${stored.exchange.text}`,
        answer.exchange,
      );
    },
  ),

  readCheck(
    'current-temperature-bare-number',
    'GET /api/heating/{id}/current-temperature answers 200 application/json with a bare JSON number, e.g. 21.5',
    async (api) => {
      const answer = await api.currentTemperature();
      const lexeme = answer.lexemes.get('');
      expectThat(
        lexeme !== undefined && answer.exchange.text === lexeme,
        'the body must be a bare JSON number with nothing around it (no object, no quotes, no whitespace)',
        answer.exchange,
      );
    },
  ),

  readCheck(
    'numbers-as-java-doubles',
    'numbers in the raw bytes are Java doubles (20.0, not 20) and the id a Java long, in GET and current-temperature',
    async (api) => {
      const answer = await api.get();
      for (const field of ['/targetTemperature', '/currentTemperature']) {
        const lexeme = answer.lexemes.get(field) ?? 'none';
        expectThat(
          JAVA_DOUBLE_LEXEME.test(lexeme),
          `${field.slice(1)} is written ${lexeme}: Java writes doubles with a fraction (20.0, not 20)`,
          answer.exchange,
        );
      }
      const id = answer.lexemes.get('/id') ?? 'none';
      expectThat(
        JAVA_LONG_LEXEME.test(id),
        `id is written ${id}: Java writes a long without fraction`,
        answer.exchange,
      );
      const current = await api.currentTemperature();
      const lexeme = current.lexemes.get('') ?? 'none';
      expectThat(
        JAVA_DOUBLE_LEXEME.test(lexeme),
        `current-temperature is written ${lexeme}: Java writes doubles with a fraction (21.0, not 21)`,
        current.exchange,
      );
    },
  ),
];
