-- Up Migration
-- Devices provisioned by the "connect a device" saga (commands from device management), and the commands already
-- handled: a command is applied once per (saga, step); a redelivered one only re-sends the stored reply.
CREATE SCHEMA provisioning;

CREATE TABLE provisioning.devices (
  device_id              text        PRIMARY KEY,
  device_type            text        NOT NULL,
  -- metrics telemetry expects from this device
  metrics                text[]      NOT NULL,
  -- how long its readings are meant to be kept
  retention_days         integer     NOT NULL CHECK (retention_days > 0),
  status                 text        NOT NULL CHECK (status IN ('provisioned', 'deprovisioned')),
  saga_id                uuid        NOT NULL,
  provisioned_at         timestamptz NOT NULL DEFAULT now(),
  deprovisioned_at       timestamptz,
  -- set by the confirm-first-reading command; the watcher looks for a reading from then on
  watch_first_reading    boolean     NOT NULL DEFAULT false,
  -- measured_at of the first reading through the ingest API, once seen in the read models
  first_reading_at       timestamptz,
  -- when the first-reading reply was published (NULL: still to publish)
  first_reading_reported_at timestamptz
);
CREATE INDEX provisioning_watch ON provisioning.devices (device_id)
  WHERE status = 'provisioned' AND watch_first_reading AND first_reading_reported_at IS NULL;

CREATE TABLE provisioning.handled_commands (
  saga_id    uuid        NOT NULL,
  step       text        NOT NULL,
  event_id   uuid        NOT NULL,
  -- the reply sent (re-sent as is when the command is redelivered); NULL when the step has no immediate reply
  reply      jsonb,
  handled_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (saga_id, step)
);

-- Down Migration
DROP SCHEMA IF EXISTS provisioning CASCADE;
