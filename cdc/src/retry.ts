// the consumer error policy lives in @warmhouse/messaging; re-exported for existing imports
export { backoffDelay, sleep, DEFAULT_BACKOFF, type BackoffOptions } from '@warmhouse/messaging';
