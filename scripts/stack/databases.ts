export { ensureDatabase, type RoleSpec } from '@warmhouse/shared';
