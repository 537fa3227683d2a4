export { createApp } from './app';
export { seedIfEmpty } from './seed';
export { createFieldSimulator, type FieldSimulator } from './simulator';
export { HeatingRepository, type HeatingSystemRow } from './heating-repository';
export { heatingSystemJson, parseHeatingSettings, type HeatingSettings } from './heating-json';
export { javaDouble, parseJavaDouble, parseJavaLong, JacksonCoercionError } from './java-json';
export { sendSpringError, springTimestamp } from './spring-errors';
