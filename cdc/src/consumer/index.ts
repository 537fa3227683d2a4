export * from './applied';
export * from './consumer';
export * from './applied-store';
