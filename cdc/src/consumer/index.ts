export * from './consumer';
// the consumer error policy (batch processor, dead letters, retriability) and the kafkajs logger live in
// @warmhouse/messaging; re-exported so existing imports from @warmhouse/cdc keep working
export {
  createBatchProcessor,
  deadLetterMessage,
  defaultDeadLetterTopic,
  DLQ_HEADERS,
  isRetriableError,
  kafkajsLogCreator,
  type BatchProcessorDeps,
  type CommitPolicy,
  type ConsumerStats,
  type DeadLetterReason,
  type HandlerContext,
} from '@warmhouse/messaging';
