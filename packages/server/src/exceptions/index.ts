import type { ModuleMigrations } from '@infra/core';
import { m0001 } from './migrations/0001_init.js';

export const exceptionMigrations: ModuleMigrations = { module: 'exceptions', migrations: { '0001_init': m0001 } };
export { ExceptionService, type RaiseInput, type ResolutionHandler } from './service.js';
export { exceptionRoutes } from './routes.js';
export type { ExceptionDb, ExceptionTables } from './store.js';
