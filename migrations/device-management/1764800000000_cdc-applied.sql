-- Up Migration
-- CDC positions applied by the service, per topic and partition, written in the transaction that applies each change
-- (the heartbeat topic's row is the watermark): GET /cdc/applied answers from here for the whole service, whichever
-- replica is asked and whichever partitions it consumes. See cdc/src/consumer/applied-store.ts.
CREATE TABLE cdc_applied (
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

-- Down Migration
DROP TABLE IF EXISTS cdc_applied;
