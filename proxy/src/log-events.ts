/** Stable names of recurring log events (the `event` field), in one place. */
export const LOG_EVENTS = {
  tableApplied: 'route_table_applied',
  tableRejected: 'route_table_rejected',
  tableFileWatchError: 'route_table_watch_error',
  stateRestored: 'route_table_state_restored',
  upstreamError: 'upstream_error',
  clientAborted: 'client_aborted',
  clientError: 'client_protocol_error',
  requestRefused: 'request_refused',
  requestForwarded: 'request_forwarded',
  upgradeForwarded: 'upgrade_forwarded',
  adminUnauthorized: 'admin_unauthorized',
  adminInsecure: 'admin_insecure_dev_mode',
  listening: 'listening',
  internalError: 'internal_error',
  fallback: 'fallback_answered',
  circuitChanged: 'circuit_state_changed',
} as const;
