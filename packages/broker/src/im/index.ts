export { ImService, messageView, type ImNotifier, type ImSettings, type MessageReferences, type SendOutcome } from './service.js';
export { ImStore, type ImTables } from './store.js';
export { BodyCipher } from './cipher.js';
export { imRoutes } from './routes.js';
export { imSendHandler } from './send.js';
export { imSyncHandler } from './sync-request.js';
import { init } from './migrations/0001_init.js';
import { bodyKey } from './migrations/0002_body_key.js';
import { bodyKeyIndex } from './migrations/0003_body_key_index.js';
import { delivered } from './migrations/0004_delivered.js';
import type { ModuleMigrations } from '@infra/core';

export const imMigrations: ModuleMigrations = { module: 'im', migrations: { '0001_init': init, '0002_body_key': bodyKey, '0003_body_key_index': bodyKeyIndex, '0004_delivered': delivered } };
