import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { errorsDoc } from './errors';

// `npm run docs:errors`: writes docs/errors.md from the error catalogs.
const file = path.resolve(__dirname, '..', '..', 'docs', 'errors.md');
writeFileSync(file, errorsDoc());
console.log(`wrote ${path.relative(process.cwd(), file)}`);
