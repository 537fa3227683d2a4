export * from './config';
export * from './logger';
export * from './errors';
export * from './poll';
export * from './lifecycle';
export * from './request-id';
export * from './pg';
export * from './migrate';
