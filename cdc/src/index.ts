export * from './connectors';
export * from './consumer';
export * from './errors';
export * from './events';
