-- Up Migration
-- What the replicas of telemetry share besides the read models.
CREATE SCHEMA coordination;

-- CDC positions applied by the feed, per topic and partition (the heartbeat topic's row is the watermark):
-- GET /cdc/applied answers from here for the whole service. See cdc/src/consumer/applied-store.ts.
CREATE TABLE coordination.cdc_applied (
  topic         text        NOT NULL,
  partition     integer     NOT NULL,
  -- offset after the last change applied
  next_offset   bigint      NOT NULL,
  -- source.lsn of that change (an unsigned 64-bit WAL position)
  lsn           numeric(20) NOT NULL,
  -- its commit time in the monolith database, ms since epoch
  source_ts_ms  bigint      NOT NULL,
  -- when the service applied it (service clock), ms since epoch
  applied_at_ms bigint      NOT NULL,
  PRIMARY KEY (topic, partition)
);

-- Leases of periodic work done by one replica at a time (the retention sweep): a replica claims a lease when it
-- has expired, and it then runs until expires_at.
CREATE TABLE coordination.leases (
  name       text        PRIMARY KEY,
  holder     text        NOT NULL,
  expires_at timestamptz NOT NULL
);

-- Down Migration
DROP SCHEMA IF EXISTS coordination CASCADE;
