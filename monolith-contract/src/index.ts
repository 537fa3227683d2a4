export { CONTRACT_CHECKS } from './checks';
export { readCheck, writeCheck, type ContractCheck } from './check';
export {
  contractContextFromEnv,
  resolveContext,
  DEFAULT_HEATING_ID,
  DEFAULT_MISSING_ID,
  type ContractContext,
  type ResolvedContext,
} from './config';
export { ContractDocument, loadContractDocument, OPENAPI_DOCUMENT_PATH, type UnattachedResponse } from './document';
export { ContractError, CONTRACT_ERROR_CODES, type ContractErrorCode } from './errors';
export { HeatingApi, ENDPOINTS, type HeatingSystem } from './heating-api';
export { describeExchange, type Exchange } from './http';
export { numberLexemes, JAVA_DOUBLE_LEXEME, JAVA_LONG_LEXEME } from './raw-json';
export { runContract, preflight, type CheckOutcome } from './run';

/** The legacy wire format of the monolith (also `@warmhouse/monolith-contract/src/wire`, without the rest). */
export * from './wire';
