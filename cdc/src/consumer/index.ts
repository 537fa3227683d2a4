export * from './applied';
export * from './consumer';
export * from './dead-letter';
export * from './kafka-logger';
export * from './process-batch';
export * from './retriable';
