import type { Device } from '../domain/device';

/** A legacy heating device as tests build events from: every field set, fixed times. */
export const SAMPLE_DEVICE: Device = {
  id: '5b0d3f7e-1c2a-4e0b-9d3f-2a7c1e9b8f00',
  seq: '7',
  type: 'heating',
  name: 'Living room',
  houseId: 'house-1',
  ownerId: null,
  status: 'active',
  settings: { on: true, targetTemperature: 21.5 },
  currentTemperature: 19.25,
  origin: 'monolith',
  legacyId: 42n,
  version: 3,
  cdcPosition: '0/16B3748',
  cdcSyncedAt: new Date('2026-01-01T00:00:00Z'),
  createdAt: new Date('2026-01-01T00:00:00Z'),
  updatedAt: new Date('2026-01-01T00:00:00Z'),
  deletedAt: null,
  failureReason: null,
};
