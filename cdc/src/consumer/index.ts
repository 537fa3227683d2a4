export * from './applied';
export * from './consumer';
