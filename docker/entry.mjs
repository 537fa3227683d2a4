// Entry point of every image: starts the component's TypeScript entry point (APP_ENTRY, relative to /app)
// with tsx, which the image's ENTRYPOINT loads (`node --import tsx`), exactly as `npm start` runs it.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const entry = process.env.APP_ENTRY;
if (!entry) {
  console.error('APP_ENTRY is not set: the image was built without --build-arg ENTRY=<path of src/main.ts>');
  process.exit(2);
}
await import(pathToFileURL(path.resolve(entry)).href);
