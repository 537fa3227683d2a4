/** Writes schemas/device-events.v1.schema.json from the zod schema (`npm run -w @warmhouse/device-management schema`). */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { deviceEventsJsonSchema } from './domain/events';

export const EVENT_SCHEMA_PATH = path.resolve(__dirname, '..', 'schemas', 'device-events.v1.schema.json');
export const eventSchemaText = () => `${JSON.stringify(deviceEventsJsonSchema(), null, 2)}\n`;

if (require.main === module) {
  writeFileSync(EVENT_SCHEMA_PATH, eventSchemaText());
  process.stdout.write(`wrote ${EVENT_SCHEMA_PATH}\n`);
}
