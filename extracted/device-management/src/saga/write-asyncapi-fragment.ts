import { stringify } from 'yaml';
import { sagaAsyncApi } from './asyncapi-fragment';

/**
 * Prints the connect-device saga's part of docs/asyncapi.yaml (channels, operations, messages), generated from the
 * zod contract, to paste there after the contract changes; the AsyncAPI unit test names what differs.
 *
 *   npx tsx extracted/device-management/src/saga/write-asyncapi-fragment.ts
 */
process.stdout.write(stringify(sagaAsyncApi, { lineWidth: 120 }));
