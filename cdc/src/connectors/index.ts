export * from './connect-client';
export * from './load';
export * from './postgres-check';
export * from './register';
export * from './register-all';
export * from './restart';
export * from './schema';
export * from './status';
