export { createApp } from './app';
export { seedIfEmpty } from './seed';
export { createFieldSimulator, type FieldSimulator } from './simulator';
export { HeatingRepository, type HeatingSystemRow } from './heating-repository';
