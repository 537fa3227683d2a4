export * from './envelope';
export * from './lossless-json';
export * from './lsn';
export * from './parse';
export * from './position';
export * from './tables';
