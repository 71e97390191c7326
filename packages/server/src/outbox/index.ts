import type { ModuleMigrations } from '@infra/core';
import { m0001 } from './migrations/0001_init.js';
import { m0002 } from './migrations/0002_cursor.js';

export const outboxMigrations: ModuleMigrations = { module: 'outbox', migrations: { '0001_init': m0001, '0002_cursor': m0002 } };
export { OutboxRelay } from './relay.js';
export { outboxStore, type OutboxDb, type OutboxTables } from './store.js';
