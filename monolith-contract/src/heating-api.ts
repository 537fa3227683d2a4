import type { ResolvedContext } from './config';
import type { ContractDocument } from './document';
import { ContractError, type ContractErrorCode } from './errors';
import { expectOperationResponse, expectThat, fail, type JsonBody } from './expect';
import { send, type Exchange } from './http';
import { withoutMatrixParameters } from './wire/matrix-parameters';

/** The heating system as the monolith's JSON has it. */
export interface HeatingSystem {
  id: number;
  targetTemperature: number;
  currentTemperature: number;
  on: boolean;
}

/** A validated heating system answer: parsed value, raw number lexemes, and the exchange for messages. */
export interface HeatingAnswer extends JsonBody<HeatingSystem> {
  readonly exchange: Exchange;
}

/** The six operations, with the request each check sends when it only needs "a valid call with this id". */
export interface Endpoint {
  readonly operationId: string;
  readonly method: string;
  readonly label: string;
  target(id: string): string;
  readonly body?: string;
}

export const ENDPOINTS: readonly Endpoint[] = [
  {
    operationId: 'getHeatingSystem',
    method: 'GET',
    label: 'GET /api/heating/{id}',
    target: (id) => `/api/heating/${id}`,
  },
  {
    operationId: 'updateHeatingSystem',
    method: 'PUT',
    label: 'PUT /api/heating/{id}',
    target: (id) => `/api/heating/${id}`,
    body: '{"on":false,"targetTemperature":20.0}',
  },
  {
    operationId: 'turnOn',
    method: 'POST',
    label: 'POST /api/heating/{id}/turn-on',
    target: (id) => `/api/heating/${id}/turn-on`,
  },
  {
    operationId: 'turnOff',
    method: 'POST',
    label: 'POST /api/heating/{id}/turn-off',
    target: (id) => `/api/heating/${id}/turn-off`,
  },
  {
    operationId: 'setTemperature',
    method: 'POST',
    label: 'POST /api/heating/{id}/set-temperature?temperature=21.5',
    target: (id) => `/api/heating/${id}/set-temperature?temperature=21.5`,
  },
  {
    operationId: 'getCurrentTemperature',
    method: 'GET',
    label: 'GET /api/heating/{id}/current-temperature',
    target: (id) => `/api/heating/${id}/current-temperature`,
  },
];

/** The monolith's heating API as the checks use it: every call validates its answer against the document. */
export class HeatingApi {
  constructor(
    readonly ctx: ResolvedContext,
    readonly doc: ContractDocument,
  ) {}

  get id(): string {
    return this.ctx.heatingId;
  }

  send(method: string, target: string, body?: string, headers?: Record<string, string>): Promise<Exchange> {
    return send(this.ctx, method, target, { body, headers });
  }

  /** A 200 heating system answer of `operationId`, valid against the document, whose id is the path's. */
  expectHeatingSystem(exchange: Exchange, operationId: string): HeatingAnswer {
    const body = expectOperationResponse<HeatingSystem>(this.doc, exchange, operationId, 200);
    if (!body) return fail('expected a heating system body', exchange);
    expectThat(
      body.lexemes.get('/id') === this.idOf(exchange),
      `the heating system's id should be ${this.idOf(exchange)} (the path's id), got ${body.lexemes.get('/id') ?? 'none'}`,
      exchange,
    );
    return { ...body, exchange };
  }

  private idOf(exchange: Exchange): string {
    return /^\/api\/heating\/([^/?]+)/.exec(withoutMatrixParameters(exchange.target))?.[1] ?? '';
  }

  async get(id = this.id): Promise<HeatingAnswer> {
    return this.expectHeatingSystem(await this.send('GET', `/api/heating/${id}`), 'getHeatingSystem');
  }

  /** PUT with a raw JSON text (byte-exact) or a value to serialise. */
  async put(body: string | object, id = this.id): Promise<HeatingAnswer> {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return this.expectHeatingSystem(await this.send('PUT', `/api/heating/${id}`, text), 'updateHeatingSystem');
  }

  async turnOn(id = this.id): Promise<Exchange> {
    return this.expectNoContent(await this.send('POST', `/api/heating/${id}/turn-on`), 'turnOn');
  }

  async turnOff(id = this.id): Promise<Exchange> {
    return this.expectNoContent(await this.send('POST', `/api/heating/${id}/turn-off`), 'turnOff');
  }

  /** `temperature` as the query text to send (`22.5`, `24`). */
  async setTemperature(temperature: string, id = this.id): Promise<Exchange> {
    const target = `/api/heating/${id}/set-temperature?temperature=${encodeURIComponent(temperature)}`;
    return this.expectNoContent(await this.send('POST', target), 'setTemperature');
  }

  async currentTemperature(id = this.id): Promise<JsonBody<number> & { exchange: Exchange }> {
    const exchange = await this.send('GET', `/api/heating/${id}/current-temperature`);
    const body = expectOperationResponse<number>(this.doc, exchange, 'getCurrentTemperature', 200);
    if (!body) return fail('expected a number body', exchange);
    return { ...body, exchange };
  }

  /** A 204 with an empty body, as `operationId` documents it. */
  expectNoContent(exchange: Exchange, operationId: string): Exchange {
    expectOperationResponse(this.doc, exchange, operationId, 204);
    return exchange;
  }

  /** Asserts what a GET shows now: `on` and the raw `targetTemperature` lexeme. */
  async expectStored(expected: { on: boolean; targetTemperature: string }, after: string): Promise<HeatingAnswer> {
    const now = await this.get();
    const target = now.lexemes.get('/targetTemperature');
    expectThat(
      now.value.on === expected.on && target === expected.targetTemperature,
      `after ${after}, GET should show on=${expected.on}, targetTemperature=${expected.targetTemperature}; ` +
        `it shows on=${String(now.value.on)}, targetTemperature=${target ?? 'none'}`,
      now.exchange,
    );
    return now;
  }

  /** Asserts that a GET shows `on` and `targetTemperature` as they were before rejected requests. */
  async expectUnchanged(original: HeatingSystem, after: string): Promise<void> {
    const now = await this.get();
    expectThat(
      now.value.on === original.on && now.value.targetTemperature === original.targetTemperature,
      `${after} must change nothing: GET showed on=${original.on}, targetTemperature=${original.targetTemperature} ` +
        `before and shows on=${String(now.value.on)}, targetTemperature=${now.value.targetTemperature} now`,
      now.exchange,
    );
  }

  /**
   * Runs a check that changes the heating system, then puts back `on` and `targetTemperature` as they were
   * (the only fields an endpoint can change) and verifies it. A check failure wins over a restore failure,
   * which is appended to its message.
   */
  async restoringState(change: (original: HeatingSystem) => Promise<void>): Promise<void> {
    const original = (await this.get()).value;
    let failure: unknown;
    try {
      await change(original);
    } catch (err) {
      failure = err;
    }
    try {
      await this.put({ on: original.on, targetTemperature: original.targetTemperature });
      const now = (await this.get()).value;
      if (now.on !== original.on || now.targetTemperature !== original.targetTemperature) {
        throw new Error(`GET shows ${JSON.stringify(now)} after restoring ${JSON.stringify(original)}`);
      }
    } catch (err) {
      const reason = `could not restore heating system ${this.id} to ${JSON.stringify(original)}: ${(err as Error).message}`;
      if (failure === undefined) throw new ContractError('CONTRACT_ERR_RESTORE', reason, { cause: err });
      const code = failure instanceof ContractError ? (failure.code as ContractErrorCode) : 'CONTRACT_ERR_ASSERTION';
      throw new ContractError(code, `${(failure as Error).message}\n    (and ${reason})`, { cause: failure });
    }
    if (failure !== undefined) throw failure;
  }
}
