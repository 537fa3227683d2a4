export { createApp } from './app';
export { seedIfEmpty } from './seed';
export { createFieldSimulator, type FieldSimulator } from './simulator';
export { javaDouble, parseJavaDouble, parseJavaLong } from './java-json';
