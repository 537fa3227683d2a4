-- Up Migration
-- The write-back with several replicas (docs/service-replicas.md): an event older than what was already written
-- back for that device and field is refused (`superseded`), and a write-back knows the full id of the monolith
-- transaction that applied it, so a redelivery can tell whether that transaction committed (txid_status).
ALTER TABLE write_backs DROP CONSTRAINT write_backs_state_check;
ALTER TABLE write_backs ADD CONSTRAINT write_backs_state_check
  CHECK (state IN ('pending', 'applied', 'echoed', 'no_change', 'superseded'));
-- the full 64-bit txid_current() of that transaction (monolith_txid keeps its low 32 bits, as Debezium's txId)
ALTER TABLE write_backs ADD COLUMN monolith_xact bigint;

-- Per device and setting: the device version last written back to the monolith (the version guard).
CREATE TABLE write_back_versions (
  device_id      uuid NOT NULL REFERENCES devices (id),
  field          text NOT NULL CHECK (field IN ('on', 'targetTemperature')),
  device_version integer NOT NULL,
  event_id       uuid NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_id, field)
);

-- Down Migration
DROP TABLE write_back_versions;
ALTER TABLE write_backs DROP COLUMN monolith_xact;
DELETE FROM write_backs WHERE state = 'superseded';
ALTER TABLE write_backs DROP CONSTRAINT write_backs_state_check;
ALTER TABLE write_backs ADD CONSTRAINT write_backs_state_check
  CHECK (state IN ('pending', 'applied', 'echoed', 'no_change'));
