import { resolveContext, type ContractContext } from './config';
import { loadContractDocument } from './document';
import { HeatingApi, type HeatingSystem } from './heating-api';

/** One named, independent part of the contract; throws a ContractError when the implementation differs. */
export interface ContractCheck {
  /** stable id, kebab-case: what tests and reports refer to */
  readonly name: string;
  /** what the monolith does, in one sentence */
  readonly description: string;
  /** changes the heating system (and restores it afterwards) */
  readonly mutates: boolean;
  readonly run: (ctx: ContractContext) => Promise<void>;
}

const session = async (ctx: ContractContext) => new HeatingApi(resolveContext(ctx), await loadContractDocument());

/** A check that only reads. */
export function readCheck(name: string, description: string, body: (api: HeatingApi) => Promise<void>): ContractCheck {
  return Object.freeze({
    name,
    description,
    mutates: false,
    run: async (ctx: ContractContext) => body(await session(ctx)),
  });
}

/**
 * A check that changes the configured heating system (or might, if the implementation is wrong): it reads the
 * system first and puts `on` and `targetTemperature` back at the end, pass or fail.
 */
export function writeCheck(
  name: string,
  description: string,
  body: (api: HeatingApi, original: HeatingSystem) => Promise<void>,
): ContractCheck {
  return Object.freeze({
    name,
    description,
    mutates: true,
    run: async (ctx: ContractContext) => {
      const api = await session(ctx);
      await api.restoringState((original) => body(api, original));
    },
  });
}
