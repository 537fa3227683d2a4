-- Up Migration
-- The production monolith's schema, exactly as Spring Data JPA (ddl-auto) creates it.
CREATE TABLE IF NOT EXISTS heating_systems (
  id                  BIGSERIAL PRIMARY KEY,
  is_on               BOOLEAN          NOT NULL,
  target_temperature  DOUBLE PRECISION NOT NULL,
  current_temperature DOUBLE PRECISION NOT NULL
);

CREATE TABLE IF NOT EXISTS temperature_sensors (
  id                  BIGSERIAL PRIMARY KEY,
  current_temperature DOUBLE PRECISION NOT NULL,
  last_updated        TIMESTAMP        NOT NULL
);

-- Down Migration
DROP TABLE IF EXISTS temperature_sensors;
DROP TABLE IF EXISTS heating_systems;
