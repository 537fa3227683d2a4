/** Stops everything the global setup started (by process id) and drops the replication slot. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__WARMHOUSE_BACKBONE__?.stop({ dropReplicationSlot: true });
  globalThis.__WARMHOUSE_BACKBONE__ = undefined;
}
