// Integration tests wait on real processes (Kafka, Connect, PostgreSQL) on a 2-core machine: generous per-test time.
jest.setTimeout(180_000);
