-- Up Migration
-- "Connect a device" saga (self-service installation), orchestrated by device management. The saga row is the
-- orchestrator's state; every change of it commits together with its step-log entries, the device's status and the
-- commands it sends (outbox rows with their own topic), so a crash anywhere resumes from a consistent state.

-- A device being connected is `pending` until the saga completes (`active`) or fails (`failed`, with the reason).
ALTER TABLE devices DROP CONSTRAINT devices_status_check;
ALTER TABLE devices ADD CONSTRAINT devices_status_check
  CHECK (status IN ('pending', 'active', 'inactive', 'failed', 'deleted'));
ALTER TABLE devices ADD COLUMN failure_reason text;

-- Outbox rows for another topic than the device events topic (saga commands); NULL: the device events topic.
ALTER TABLE outbox ADD COLUMN topic text;

CREATE TABLE connect_sagas (
  id                     uuid PRIMARY KEY,
  device_id              uuid NOT NULL UNIQUE REFERENCES devices (id),
  device_type            text NOT NULL,
  state                  text NOT NULL CHECK (state IN ('provisioning', 'awaiting_first_reading', 'compensating',
                                                        'completed', 'failed')),
  retention_days         integer NOT NULL CHECK (retention_days > 0),
  first_reading_within_s integer NOT NULL CHECK (first_reading_within_s > 0),
  -- the timer fires the saga's timeout at this instant; NULL once it is finished
  deadline_at            timestamptz,
  -- why it failed (or is compensating); kept once set
  failure_reason         text,
  compensation_attempts  integer NOT NULL DEFAULT 0,
  request_id             text,
  version                integer NOT NULL DEFAULT 1,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  finished_at            timestamptz,
  CHECK ((state IN ('completed', 'failed')) = (deadline_at IS NULL))
);
CREATE INDEX connect_sagas_due ON connect_sagas (deadline_at) WHERE deadline_at IS NOT NULL;

-- Append-only step log: what the saga did and when (GET /api/v1/devices/connect/{sagaId} shows it).
CREATE TABLE connect_saga_steps (
  id       bigserial PRIMARY KEY,
  saga_id  uuid NOT NULL REFERENCES connect_sagas (id),
  step     text NOT NULL,
  status   text NOT NULL,
  detail   text,
  at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connect_saga_steps_saga ON connect_saga_steps (saga_id, id);

-- Down Migration
DROP TABLE IF EXISTS connect_saga_steps;
DROP TABLE IF EXISTS connect_sagas;
ALTER TABLE outbox DROP COLUMN IF EXISTS topic;
ALTER TABLE devices DROP COLUMN IF EXISTS failure_reason;
ALTER TABLE devices DROP CONSTRAINT devices_status_check;
ALTER TABLE devices ADD CONSTRAINT devices_status_check CHECK (status IN ('active', 'inactive', 'deleted'));
