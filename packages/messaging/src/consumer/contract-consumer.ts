import type { z } from 'zod';
import { parseMessage } from '../envelope';
import { createMessageConsumer, type MessageConsumer, type MessageConsumerOptions } from './consumer';

/** Options of {@link createContractConsumer}: those of a message consumer, with one topic and its contract. */
export type ContractConsumerOptions<S extends z.ZodType> = Omit<
  MessageConsumerOptions<z.output<S>>,
  'topics' | 'parse'
> & {
  topic: string;
  /** the wire contract of the topic's records (one schema per contract, from ./contracts) */
  schema: S;
};

/**
 * A message consumer of one topic whose records follow one wire contract: each record is parsed with `schema`
 * (one that does not follow it is dead-lettered as malformed), then handled.
 */
export function createContractConsumer<S extends z.ZodType>(options: ContractConsumerOptions<S>): MessageConsumer {
  const { topic, schema, ...rest } = options;
  return createMessageConsumer<z.output<S>>({
    ...rest,
    topics: [topic],
    parse: (m) => ({ kind: 'message', event: parseMessage(schema, m.value) }),
  });
}
