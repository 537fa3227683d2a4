import { CodedError } from '@warmhouse/shared';

/** Every way the contract can fail, by code. Compare codes, not classes. */
export const CONTRACT_ERROR_CODES = {
  /** the implementation answered differently from the monolith */
  CONTRACT_ERR_ASSERTION: 'CONTRACT_ERR_ASSERTION',
  /** no HTTP answer at all: connection refused, reset, timed out */
  CONTRACT_ERR_UNREACHABLE: 'CONTRACT_ERR_UNREACHABLE',
  /** a mutating check could not put the heating system back the way it found it */
  CONTRACT_ERR_RESTORE: 'CONTRACT_ERR_RESTORE',
  /** the configured heating system cannot be read, so no check can run meaningfully */
  CONTRACT_ERR_PRECONDITION: 'CONTRACT_ERR_PRECONDITION',
} as const;

export type ContractErrorCode = keyof typeof CONTRACT_ERROR_CODES;

/** A contract failure; the message names the request, what the monolith answers and what came back. */
export class ContractError extends CodedError {
  constructor(code: ContractErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { retriable: code === 'CONTRACT_ERR_UNREACHABLE', cause: options.cause });
    this.name = code === 'CONTRACT_ERR_ASSERTION' ? 'ContractAssertionError' : 'ContractError';
  }
}
