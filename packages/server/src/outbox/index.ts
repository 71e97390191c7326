import type { ModuleMigrations } from '@infra/core';
import { m0001 } from './migrations/0001_init.js';

export const outboxMigrations: ModuleMigrations = { module: 'outbox', migrations: { '0001_init': m0001 } };
export { OutboxRelay } from './relay.js';
export { outboxStore, type OutboxDb, type OutboxTables } from './store.js';
