import type { TableIssue } from '../issues';

/** What a feature compiler returns: its compiled part (`undefined`: none, or not compilable) and its issues. */
export interface Part<T> {
  readonly value: T | undefined;
  readonly issues: readonly TableIssue[];
}

/** A part that is not there (the feature is off, or depends on something that did not compile). */
export const NONE: Part<never> = Object.freeze({ value: undefined, issues: [] });
