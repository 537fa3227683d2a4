/**
 * Topic conventions. Names are `<owner>.<what>` (Debezium's are `<prefix>.<schema>.<table>`); a dead-letter topic
 * is its source topic plus `.dlq` (a consumer group that needs its own adds a segment before it, e.g.
 * `.telemetry.dlq`). Every topic a service creates must appear in docs/asyncapi.yaml (a unit test checks).
 */
export const DEAD_LETTER_SUFFIX = '.dlq';
