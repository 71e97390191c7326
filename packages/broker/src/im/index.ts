export { ImService, messageView, type ImNotifier, type ImSettings, type SendOutcome } from './service.js';
export { ImStore, type ImTables } from './store.js';
export { imRoutes } from './routes.js';
export { imSendHandler } from './send.js';
import { init } from './migrations/0001_init.js';
import type { ModuleMigrations } from '@infra/core';

export const imMigrations: ModuleMigrations = { module: 'im', migrations: { '0001_init': init } };
