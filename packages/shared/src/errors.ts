/**
 * Base of every coded error. Codes are compared across package boundaries (never classes);
 * `retriable` tells callers whether trying again can help.
 */
export class CodedError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly options: { status?: number; retriable?: boolean; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'CodedError';
  }
  get status(): number {
    return this.options.status ?? 500;
  }
  get retriable(): boolean {
    return this.options.retriable ?? false;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
