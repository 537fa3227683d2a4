import { readCheck, writeCheck } from '../check';
import { allCases, expectOperationResponse, expectThat, expectUnattachedError } from '../expect';
import { ENDPOINTS } from '../heating-api';
import type { HeatingApi } from '../heating-api';
import type { Exchange } from '../http';
import type { UnattachedResponse } from '../document';

/** One request of a check, named by what it sends. */
interface BadRequest {
  name: string;
  method: string;
  target: string;
  body?: string;
  /** the operation whose documented 400 answers it */
  operationId: string;
}

/**
 * A check that every request of `requests` answers 400 with the body its operation documents, and that none of them
 * changed the heating system (`what` names them in the failure).
 */
function badRequestCheck(name: string, description: string, what: string, requests: (api: HeatingApi) => BadRequest[]) {
  return writeCheck(name, description, async (api, original) => {
    await allCases(
      requests(api).map((r) => ({
        name: r.name,
        run: async () => {
          expectOperationResponse(api.doc, await api.send(r.method, r.target, r.body), r.operationId, 400);
        },
      })),
    );
    await api.expectUnchanged(original, what);
  });
}

/** Every request of `cases` answers `status` with the Spring error body of `components.responses[error]`. */
async function expectUnattachedErrors(
  api: HeatingApi,
  cases: Array<[method: string, target: string]>,
  error: UnattachedResponse,
  status: number,
): Promise<void> {
  await allCases(
    cases.map(([method, target]) => ({
      name: `${method} ${target}`,
      run: async () => expectUnattachedError(api.doc, await api.send(method, target), error, status),
    })),
  );
}

export const errorChecks = [
  writeCheck(
    'missing-id-500',
    'an id that does not exist answers 500 with Spring\'s error body on every endpoint ("not found" is never returned)',
    async (api) => {
      await allCases(
        ENDPOINTS.map((endpoint) => ({
          name: endpoint.label.replace('{id}', api.ctx.missingId),
          run: async () => {
            const exchange = await api.send(endpoint.method, endpoint.target(api.ctx.missingId), endpoint.body);
            expectOperationResponse(api.doc, exchange, endpoint.operationId, 500);
          },
        })),
      );
    },
  ),

  badRequestCheck(
    'non-numeric-id-400',
    "an id that is not a whole number (abc, 1.5) answers 400 with Spring's error body on every endpoint",
    'requests with a non-numeric id',
    () =>
      ['abc', '1.5'].flatMap((id) =>
        ENDPOINTS.map((endpoint) => ({
          name: endpoint.label.replace('{id}', id),
          method: endpoint.method,
          target: endpoint.target(id),
          body: endpoint.body,
          operationId: endpoint.operationId,
        })),
      ),
  ),

  writeCheck(
    'set-temperature-missing-400',
    'POST set-temperature without the temperature parameter answers 400 and changes nothing',
    async (api, original) => {
      const exchange = await api.send('POST', `/api/heating/${api.id}/set-temperature`);
      expectOperationResponse(api.doc, exchange, 'setTemperature', 400);
      await api.expectUnchanged(original, 'set-temperature without temperature');
    },
  ),

  badRequestCheck(
    'set-temperature-not-a-number-400',
    'POST set-temperature with a temperature that is not a number (abc, empty, 22,5) answers 400 and changes nothing',
    'set-temperature with non-numeric temperatures',
    (api) =>
      ['abc', '', '22,5'].map((temperature) => ({
        name: `temperature=${temperature}`,
        method: 'POST',
        target: `/api/heating/${api.id}/set-temperature?temperature=${encodeURIComponent(temperature)}`,
        operationId: 'setTemperature',
      })),
  ),

  badRequestCheck(
    'put-malformed-json-400',
    "PUT with a malformed JSON body answers 400 with Spring's error body and changes nothing",
    'malformed PUTs',
    (api) =>
      ['{"on": tru', '{"on":true,"targetTemperature":21.5', 'on=true'].map((body) => ({
        name: `body ${body}`,
        method: 'PUT',
        target: `/api/heating/${api.id}`,
        body,
        operationId: 'updateHeatingSystem',
      })),
  ),

  readCheck('unknown-path-404', "a GET of a path no endpoint has answers 404 with Spring's error body", async (api) => {
    // GET only: for other methods Spring Boot's static-resource fallback (GET/HEAD on /**) may answer 405 instead
    const cases: Array<[method: string, target: string]> = [
      ['GET', `/api/heating/${api.id}/unknown`],
      ['GET', '/api/heating'],
      ['GET', '/api/unknown'],
      ['GET', `/api/heating/${api.id}/turn-sideways`],
    ];
    await expectUnattachedErrors(api, cases, 'NotFound', 404);
  }),

  writeCheck(
    'wrong-method-405',
    "a known path with a method it does not have answers 405 with Spring's error body, before the id is looked up",
    async (api, original) => {
      const { heatingId: id, missingId } = api.ctx;
      // destructive methods go to the missing id, so a wrong implementation cannot delete the configured system
      const cases: Array<[method: string, target: string]> = [
        ['POST', `/api/heating/${id}`],
        ['DELETE', `/api/heating/${missingId}`],
        ['PATCH', `/api/heating/${missingId}`],
        ['GET', `/api/heating/${id}/turn-on`],
        ['GET', `/api/heating/${id}/turn-off`],
        ['GET', `/api/heating/${id}/set-temperature?temperature=21.5`],
        ['PUT', `/api/heating/${id}/current-temperature`],
        ['POST', `/api/heating/${id}/current-temperature`],
      ];
      await expectUnattachedErrors(api, cases, 'MethodNotAllowed', 405);
      await api.expectUnchanged(original, 'requests with the wrong method');
    },
  ),

  writeCheck(
    'json-content-type-exact',
    'every JSON body, success or error, carries exactly Content-Type: application/json (no charset), as Spring writes it',
    async (api, original) => {
      const exchanges: Exchange[] = [
        (await api.get()).exchange,
        (await api.put({ on: original.on, targetTemperature: original.targetTemperature })).exchange,
        (await api.currentTemperature()).exchange,
        await api.send('GET', '/api/heating/abc'),
        await api.send('GET', `/api/heating/${api.ctx.missingId}`),
        await api.send('GET', `/api/heating/${api.id}/unknown`),
        await api.send('DELETE', `/api/heating/${api.ctx.missingId}`),
      ];
      await allCases(
        exchanges.map((exchange) => ({
          name: `${exchange.method} ${exchange.target} (${exchange.status})`,
          run: async () =>
            expectThat(
              exchange.headers.get('content-type') === 'application/json',
              `Content-Type should be exactly application/json, got ${exchange.headers.get('content-type') ?? 'none'}`,
            ),
        })),
      );
    },
  ),
];
