import type { Logger } from '@warmhouse/shared';
import { Kafka, logLevel } from 'kafkajs';
import { kafkajsLogCreator } from './kafka-logger';

/** A Kafka client given to a component: one it shares, or the brokers (and client id) to make its own. */
export type KafkaOrBrokers = Kafka | { brokers: string[]; clientId?: string };

/** The client to use: the one given, or a new one with the given brokers, logging through `logger`. */
export function kafkaClientOf(
  kafka: KafkaOrBrokers,
  { clientId, logger }: { clientId: string; logger: Logger },
): Kafka {
  if (typeof (kafka as Partial<Kafka>).consumer === 'function') return kafka as Kafka;
  const { brokers, clientId: given } = kafka as { brokers: string[]; clientId?: string };
  return new Kafka({
    clientId: given ?? clientId,
    brokers,
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogCreator(logger),
  });
}
