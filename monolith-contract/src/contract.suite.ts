/**
 * The monolith contract as a jest suite, against whatever CONTRACT_BASE_URL points at: the monolith, the
 * stand-in, the proxy, an extracted service. `CONTRACT_BASE_URL=http://127.0.0.1:8080 npm run contract`.
 */
import { CONTRACT_CHECKS, contractContextFromEnv, preflight } from './index';

const ctx = contractContextFromEnv(process.env); // throws, naming CONTRACT_BASE_URL, when it is not set

describe(`Warm House monolith contract at ${ctx.baseUrl} (heating system ${ctx.heatingId})`, () => {
  beforeAll(() => preflight(ctx));

  for (const check of CONTRACT_CHECKS) {
    it(`${check.name}: ${check.description}`, () => check.run(ctx));
  }
});
