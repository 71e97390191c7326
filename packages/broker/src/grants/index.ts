import type { ModuleMigrations } from '@infra/core';
import { init } from './migrations/0001_init.js';

export const grantMigrations: ModuleMigrations = { module: 'grants', migrations: { '0001_init': init } };
export { GrantTable, parseGrant } from './service.js';
export type { GrantTables } from './store.js';
