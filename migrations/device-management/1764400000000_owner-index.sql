-- Up Migration
-- a caller's devices (GET /api/v1/devices under DEVICE_MANAGEMENT_REQUIRE_IDENTITY), in cursor order
CREATE INDEX devices_owner_seq ON devices (owner_id, seq);

-- Down Migration
DROP INDEX IF EXISTS devices_owner_seq;
