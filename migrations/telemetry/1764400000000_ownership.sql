-- Up Migration
-- the subject that owns a device the connect-device saga provisioned (its provision command carries it):
-- with TELEMETRY_REQUIRE_IDENTITY only that subject and operators read the device's readings. NULL: nobody
-- (operators only), as for devices of the monolith, which telemetry knows only through the CDC feed.
ALTER TABLE provisioning.devices ADD COLUMN owner_id text CHECK (length(owner_id) BETWEEN 1 AND 100);

-- Down Migration
ALTER TABLE provisioning.devices DROP COLUMN IF EXISTS owner_id;
