export * from './ajv-problems';
export * from './failed-request';
export * from './http-metrics';
export * from './readiness';
export * from './service-app';
export * from './observe-requests';
export * from './service-parts';
