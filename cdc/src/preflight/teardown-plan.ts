import type { LedgerEntry } from './ledger';

/** What exists now of each recorded object (read from the database and Kafka Connect). */
export interface TeardownState {
  /** connectors Kafka Connect knows; null when Connect could not be reached */
  connectors: string[] | null;
  slots: Array<{ name: string; active: boolean; activePid: number | null }>;
  publications: Array<{ name: string; oid: number }>;
  tables: Array<{ name: string; oid: number }>;
}

/** One step of the teardown: remove it, or leave it with the reason (`refused` ones make the exit code 1). */
export type TeardownStep =
  | { entry: LedgerEntry; action: 'remove' }
  | { entry: LedgerEntry; action: 'forget'; reason: string }
  | { entry: LedgerEntry; action: 'refuse'; reason: string };

const ORDER: Record<LedgerEntry['kind'], number> = { connector: 0, slot: 1, publication: 2, table: 3 };

/**
 * Pure: for each object the ledger says the stack created, what to do — connector first (it holds the slot), then
 * the slot (refused while active), the publication, the heartbeat table. An object gone already, or re-created by
 * someone else (another oid), is only forgotten, never dropped.
 */
export function planTeardown(ledger: readonly LedgerEntry[], state: TeardownState): TeardownStep[] {
  return [...ledger]
    .sort((a, b) => ORDER[a.kind] - ORDER[b.kind])
    .map((entry): TeardownStep => {
      switch (entry.kind) {
        case 'connector':
          if (state.connectors === null)
            return {
              entry,
              action: 'refuse',
              reason: 'Kafka Connect is not reachable (start the stack, or set CONNECT_URL)',
            };
          return state.connectors.includes(entry.name)
            ? { entry, action: 'remove' }
            : { entry, action: 'forget', reason: 'not registered any more' };
        case 'slot': {
          const slot = state.slots.find((s) => s.name === entry.name);
          if (!slot) return { entry, action: 'forget', reason: 'gone already' };
          return slot.active
            ? { entry, action: 'refuse', reason: `active (pid ${slot.activePid ?? '?'}): stop its consumer first` }
            : { entry, action: 'remove' };
        }
        case 'publication':
        case 'table': {
          const found = (entry.kind === 'publication' ? state.publications : state.tables).find(
            (o) => o.name === entry.name,
          );
          if (!found) return { entry, action: 'forget', reason: 'gone already' };
          return entry.oid !== null && found.oid !== entry.oid
            ? { entry, action: 'forget', reason: 're-created by someone else since (another oid): left alone' }
            : { entry, action: 'remove' };
        }
      }
    });
}
