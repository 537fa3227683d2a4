import type { ContractCheck } from '../check';
import { errorChecks } from './error-statuses';
import { platformChecks } from './platform';
import { readChecks } from './reads';
import { writeChecks } from './writes';

/** The whole contract, in run order. Names are unique and stable. */
export const CONTRACT_CHECKS: readonly ContractCheck[] = Object.freeze([
  ...readChecks,
  ...writeChecks,
  ...errorChecks,
  ...platformChecks,
]);
