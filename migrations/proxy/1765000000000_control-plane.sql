-- Up Migration
-- The strangler proxy's control plane, shared by every proxy process (replicas and worker processes).
-- Every route-table change is a new row of table_versions; the newest row is the table in force. A change is
-- inserted as version = (the version it was based on) + 1, so two writers racing from the same version cannot
-- both win (primary key): optimistic concurrency without locks. After the insert commits, NOTIFY
-- strangler_table carries the version number (payloads are limited to 8000 bytes: never the table itself).

CREATE TABLE table_versions (
  version        bigint      PRIMARY KEY CHECK (version > 0),
  spec           jsonb       NOT NULL,
  -- SHA-256 of the routes file this table was last reconciled with (carried over by admin and plan changes)
  source_sha256  text,
  actor          text        NOT NULL,
  source         text        NOT NULL,
  reason         text        NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Routes-file contents already reconciled into the store: a pod starting with a file the fleet has seen before
-- (a rolling deploy, a restarted old pod) does not apply it again.
CREATE TABLE reconciled_files (
  sha256         text        PRIMARY KEY,
  version        bigint      NOT NULL,
  reconciled_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The audit log: one row per change of the table (written in the same transaction as its version) and per
-- note (plan progress reset, refused version). dedupe_key makes an entry that several processes would write
-- (a refused row seen by each) land once.
CREATE TABLE audit_entries (
  id             bigserial   PRIMARY KEY,
  version        bigint      NOT NULL,
  route_id       text,
  dedupe_key     text        UNIQUE,
  entry          jsonb       NOT NULL
);
CREATE INDEX audit_entries_route ON audit_entries (route_id, id);

-- Live proxy processes: each upserts its row every heartbeat with the version it serves.
CREATE TABLE fleet_processes (
  process_id     text        PRIMARY KEY,
  host           text        NOT NULL,
  pid            integer     NOT NULL,
  started_at     timestamptz NOT NULL,
  last_seen      timestamptz NOT NULL,
  version_served bigint      NOT NULL,
  serving_from   text        NOT NULL,
  -- the last version this process refused (corrupt or foreign row), with the reason
  refused        jsonb
);

-- The plan runner's lease: exactly one holder at a time; epoch is the fencing token, taken anew by every
-- acquisition, and every write of the runner checks it.
CREATE TABLE plan_lease (
  name           text        PRIMARY KEY,
  holder         text,
  epoch          bigint      NOT NULL DEFAULT 0,
  expires_at     timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO plan_lease (name) VALUES ('plans');

-- When each route's current plan step began (its dwell time counts from there), under which plan.
CREATE TABLE plan_progress (
  route_id       text        PRIMARY KEY,
  plan_hash      text        NOT NULL,
  step           text        NOT NULL,
  started_at     timestamptz NOT NULL,
  epoch          bigint      NOT NULL
);

-- Each process's per-route evidence for the current plan step (counts, errors, latency histograms, shadow
-- counts), merged by the plan runner and by GET /api/stats.
CREATE TABLE route_evidence (
  process_id     text        NOT NULL,
  route_id       text        NOT NULL,
  updated_at     timestamptz NOT NULL,
  evidence       jsonb       NOT NULL,
  PRIMARY KEY (process_id, route_id)
);

-- Read-your-writes pins: a write through any process pins its key for every process until the service has
-- applied it (or the pin expires). pending counts writes not yet answered by the source.
CREATE TABLE read_pins (
  pin_key        text        PRIMARY KEY,
  pending        integer     NOT NULL DEFAULT 0,
  lsn            pg_lsn,
  after_ts       timestamptz,
  written_at     timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL
);
CREATE INDEX read_pins_expiry ON read_pins (expires_at);

-- Down Migration
DROP TABLE read_pins;
DROP TABLE route_evidence;
DROP TABLE plan_progress;
DROP TABLE plan_lease;
DROP TABLE fleet_processes;
DROP TABLE audit_entries;
DROP TABLE reconciled_files;
DROP TABLE table_versions;
