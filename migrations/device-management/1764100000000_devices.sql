-- Up Migration
-- Device management's own database. Devices of every type; those that came from the monolith keep its id
-- (legacy_id) and the CDC position they were last synced at.
CREATE TABLE devices (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- stable order for cursor pagination (uuids are random)
  seq                 bigserial NOT NULL UNIQUE,
  type                text NOT NULL CHECK (type IN ('heating', 'temperature_sensor')),
  name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  house_id            text CHECK (length(house_id) BETWEEN 1 AND 100),
  owner_id            text CHECK (length(owner_id) BETWEEN 1 AND 100),
  status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'deleted')),
  -- settings (written by users and, for legacy devices, by the monolith until the write cut-over)
  is_on               boolean,
  target_temperature  double precision,
  -- state measured by the field hardware (only ever written by CDC for legacy devices)
  current_temperature double precision,
  -- where the device was first registered
  origin              text NOT NULL CHECK (origin IN ('monolith', 'device-management')),
  -- heating_systems.id in the monolith, for devices that came from it
  legacy_id           bigint UNIQUE,
  -- bumped by every change of this row; domain events carry it
  version             integer NOT NULL DEFAULT 1,
  -- source.lsn of the last applied change event ('0/0' for a snapshot read); NULL: never synced
  cdc_position        pg_lsn,
  cdc_synced_at       timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  deleted_at          timestamptz,
  CHECK ((status = 'deleted') = (deleted_at IS NOT NULL)),
  CHECK ((origin = 'monolith') = (legacy_id IS NOT NULL))
);
CREATE INDEX devices_house_seq ON devices (house_id, seq);
CREATE INDEX devices_status_seq ON devices (status, seq);

-- Transactional outbox: written in the same transaction as the change it describes; the relay publishes rows
-- in id order and stamps published_at.
CREATE TABLE outbox (
  id             bigserial PRIMARY KEY,
  event_id       uuid NOT NULL UNIQUE,
  aggregate_type text NOT NULL,
  aggregate_id   uuid NOT NULL,
  event_type     text NOT NULL,
  payload        jsonb NOT NULL,
  headers        jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at     timestamptz NOT NULL DEFAULT now(),
  published_at   timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- One row per local change of a legacy device that must be written back to the monolith. A field is "in flight"
-- from the local commit until the change's own CDC echo comes back (or the write-back changed nothing); while it
-- is, CDC events do not overwrite that field (see README: loop prevention).
CREATE TABLE write_backs (
  event_id           uuid PRIMARY KEY,
  device_id          uuid NOT NULL REFERENCES devices (id),
  legacy_id          bigint NOT NULL,
  device_version     integer NOT NULL,
  fields             text[] NOT NULL CHECK (fields <@ ARRAY['on', 'targetTemperature']::text[] AND cardinality(fields) > 0),
  is_on              boolean,
  target_temperature double precision,
  state              text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'applied', 'echoed', 'no_change')),
  -- PostgreSQL xid (low 32 bits, as Debezium's source.txId) of the monolith transaction that applied it
  monolith_txid      bigint,
  created_at         timestamptz NOT NULL DEFAULT now(),
  applied_at         timestamptz,
  echoed_at          timestamptz,
  echo_position      pg_lsn
);
CREATE INDEX write_backs_in_flight ON write_backs (legacy_id) WHERE state IN ('pending', 'applied');

-- Down Migration
DROP TABLE IF EXISTS write_backs;
DROP TABLE IF EXISTS outbox;
DROP TABLE IF EXISTS devices;
