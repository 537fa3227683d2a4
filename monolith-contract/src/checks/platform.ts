import { readCheck, writeCheck } from '../check';
import { allCases, expectOperationResponse, expectThat } from '../expect';
import type { HeatingApi } from '../heating-api';
import type { Exchange } from '../http';

/**
 * What Spring MVC on Tomcat does around the six endpoints, which clients may rely on without knowing it
 * (warm-house-monolith.md, "HTTP behaviour of the platform"). Not checked: framing (chunked or Content-Length,
 * both valid), and OPTIONS, whose answer the reference does not state.
 */

const header = (exchange: Exchange, name: string) => exchange.headers.get(name) ?? '(none)';

/** HEAD must answer as the GET: status, Content-Type, Content-Length (the value of one GET around it). */
async function expectHeadLikeGet(api: HeatingApi, target: string): Promise<void> {
  // two GETs around the HEAD: the field hardware may change a current temperature (and its length) in between
  const before = await api.send('GET', target);
  const head = await api.send('HEAD', target);
  const after = await api.send('GET', target);
  const lengths = [header(before, 'content-length'), header(after, 'content-length')];
  expectThat(
    head.status === before.status || head.status === after.status,
    `HEAD ${target} answers ${head.status}, the GET ${before.status}: HEAD is the GET without its body`,
    head,
  );
  expectThat(
    header(head, 'content-type') === header(before, 'content-type'),
    `HEAD ${target} answers Content-Type ${header(head, 'content-type')}, the GET ${header(before, 'content-type')}`,
    head,
  );
  expectThat(
    lengths.includes(header(head, 'content-length')),
    `HEAD ${target} answers Content-Length ${header(head, 'content-length')}, the GET ${lengths.join(' / ')}: ` +
      'HEAD announces the length the GET has',
    head,
  );
}

/** A path with matrix parameters on one segment or another, for the system `id` (`suffix` after the id). */
const matrixTargets = (id: string, suffix = '') => [
  `/api/heating/${id};jsessionid=abc${suffix}`,
  `/api;v=1/heating/${id}${suffix}`,
  `/api/heating;a=b;c=d/${id}${suffix}`,
];

export const platformChecks = [
  readCheck(
    'head-like-get',
    'HEAD on GET /api/heating/{id} and GET /api/heating/{id}/current-temperature answers as the GET without a body: ' +
      'same status, Content-Type and Content-Length, for a system, a missing id and an id that is not a number',
    async (api) => {
      const ids = [api.id, api.ctx.missingId, 'abc'];
      const targets = ids.flatMap((id) => [`/api/heating/${id}`, `/api/heating/${id}/current-temperature`]);
      await allCases(targets.map((target) => ({ name: `HEAD ${target}`, run: () => expectHeadLikeGet(api, target) })));
    },
  ),

  readCheck(
    'matrix-parameters-ignored-on-reads',
    'matrix parameters of any path segment (/api/heating/{id};jsessionid=abc) are removed before the path is ' +
      'matched: GET answers what it answers without them, byte for byte; current-temperature too',
    async (api) => {
      const plain = await api.get();
      await allCases([
        ...matrixTargets(api.id).map((target) => ({
          name: `GET ${target}`,
          run: async () => {
            const answer = api.expectHeatingSystem(await api.send('GET', target), 'getHeatingSystem');
            expectThat(
              answer.exchange.text === plain.exchange.text,
              `GET ${target} should answer GET /api/heating/${api.id}'s bytes ${plain.exchange.text}`,
              answer.exchange,
            );
          },
        })),
        ...[...matrixTargets(api.id, '/current-temperature'), `/api/heating/${api.id}/current-temperature;x=1`].map(
          (target) => ({
            name: `GET ${target}`,
            run: async () => {
              expectOperationResponse(api.doc, await api.send('GET', target), 'getCurrentTemperature', 200);
            },
          }),
        ),
      ]);
    },
  ),

  writeCheck(
    'matrix-parameters-ignored-on-writes',
    'PUT, turn-on, turn-off and set-temperature with matrix parameters on a path segment (;jsessionid=abc) ' +
      'apply to the system as without them',
    async (api, original) => {
      const [onId, onApi, onHeating] = matrixTargets(api.id);
      const target = original.targetTemperature === 23.5 ? 24.5 : 23.5;
      const put = await api.send('PUT', onId!, JSON.stringify({ on: !original.on, targetTemperature: target }));
      api.expectHeatingSystem(put, 'updateHeatingSystem');
      await api.expectStored({ on: !original.on, targetTemperature: String(target) }, `PUT ${onId}`);
      const commands: Array<[string, boolean]> = [
        [`/api/heating/${api.id};jsessionid=abc/turn-on`, true],
        [`${onApi}/turn-off`, false],
        [`${onHeating}/turn-on`, true],
        [`/api/heating/${api.id}/turn-off;jsessionid=abc`, false],
      ];
      for (const [path, on] of commands) {
        api.expectNoContent(await api.send('POST', path), on ? 'turnOn' : 'turnOff');
        await api.expectStored({ on, targetTemperature: String(target) }, `POST ${path}`);
      }
      const set = `/api/heating/${api.id};jsessionid=abc/set-temperature;x=y?temperature=19.25`;
      api.expectNoContent(await api.send('POST', set), 'setTemperature');
      await api.expectStored({ on: false, targetTemperature: '19.25' }, `POST ${set}`);
    },
  ),
];
