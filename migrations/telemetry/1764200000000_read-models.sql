-- Up Migration
-- Telemetry's own database. Two schemas:
--   read_model — projections of the command log (Kafka topic telemetry.readings.v1) and nothing else: it can be
--                dropped and rebuilt from the log at any time (npm run telemetry:rebuild swaps in a fresh copy).
--   feed       — state of the CDC feed from the monolith that is not a projection of the command log.
-- Every timestamp is UTC; minute and hour buckets are UTC buckets.
CREATE SCHEMA read_model;
CREATE SCHEMA feed;

-- Raw history: one row per distinct reading. The primary key is the duplicate rule "same device + metric + time";
-- the partial unique index is the rule "same idempotency key" (per device). The projector inserts with
-- ON CONFLICT DO NOTHING, so the first of two duplicates in command-log order is the one stored.
CREATE TABLE read_model.readings (
  device_id       text             NOT NULL,
  metric          text             NOT NULL,
  measured_at     timestamptz      NOT NULL,
  value           double precision NOT NULL,
  unit            text             NOT NULL,
  idempotency_key text,
  -- api (POST /api/v1/telemetry) or cdc (the monolith's current_temperature columns)
  source          text             NOT NULL,
  -- when the command log accepted the reading (the Kafka record's timestamp)
  accepted_at     timestamptz      NOT NULL,
  -- where in the command log it came from: partition, offset, position in the record's readings
  log_partition   integer          NOT NULL,
  log_offset      bigint           NOT NULL,
  log_index       integer          NOT NULL,
  PRIMARY KEY (device_id, metric, measured_at)
);
CREATE UNIQUE INDEX readings_idempotency_key ON read_model.readings (device_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

-- Latest value per device and metric: the stored reading with the greatest measured_at.
CREATE TABLE read_model.latest (
  device_id   text             NOT NULL,
  metric      text             NOT NULL,
  value       double precision NOT NULL,
  unit        text             NOT NULL,
  measured_at timestamptz      NOT NULL,
  source      text             NOT NULL,
  accepted_at timestamptz      NOT NULL,
  PRIMARY KEY (device_id, metric)
) WITH (fillfactor = 70); -- room on the page for HOT updates: every reading of a device rewrites its row

-- House of each device: the one named by its newest stored reading that names a house (readings without houseId
-- leave it as it is). Feeds the house summary.
CREATE TABLE read_model.device_houses (
  device_id text        PRIMARY KEY,
  house_id  text        NOT NULL,
  as_of     timestamptz NOT NULL
) WITH (fillfactor = 70);
CREATE INDEX device_houses_house ON read_model.device_houses (house_id, device_id);

-- Rollups of the stored (de-duplicated) readings. sum is numeric so that it is exact and independent of the
-- order readings arrive in: a rebuild with different batch boundaries gives the same bytes. avg = sum / count.
CREATE TABLE read_model.rollups_minute (
  device_id text             NOT NULL,
  metric    text             NOT NULL,
  bucket    timestamptz      NOT NULL,
  min       double precision NOT NULL,
  max       double precision NOT NULL,
  sum       numeric          NOT NULL,
  count     bigint           NOT NULL,
  PRIMARY KEY (device_id, metric, bucket)
) WITH (fillfactor = 70);
CREATE TABLE read_model.rollups_hour (LIKE read_model.rollups_minute INCLUDING ALL) WITH (fillfactor = 70);

-- How far the read models have applied each partition of the command log. Updated in the same transaction as the
-- read models, so a crash anywhere loses nothing and applies nothing twice; the projector locks its row first.
CREATE TABLE read_model.projection_offsets (
  topic       text        NOT NULL,
  partition   integer     NOT NULL,
  next_offset bigint      NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition)
) WITH (fillfactor = 50);

-- Devices of the monolith seen by the CDC feed: legacy id → telemetry device id, and whether the monolith still
-- has the row (the legacy current-temperature route answers 500 for a deleted heating system, as the monolith does).
-- cdc_position: source.lsn of the last applied change, 0 for a snapshot read (see @warmhouse/cdc positionOf).
CREATE TABLE feed.legacy_devices (
  kind         text    NOT NULL CHECK (kind IN ('heating', 'sensor')),
  legacy_id    bigint  NOT NULL,
  device_id    text    NOT NULL UNIQUE,
  deleted      boolean NOT NULL DEFAULT false,
  cdc_position numeric(20, 0) NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, legacy_id)
);

-- Down Migration
DROP SCHEMA IF EXISTS feed CASCADE;
DROP SCHEMA IF EXISTS read_model CASCADE;
