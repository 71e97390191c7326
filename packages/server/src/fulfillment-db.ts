import { join } from 'node:path';
import { migrateModules, openSqlite, type ModuleMigrations, type OpenedDatabase } from '@infra/core';
import { flowMigrations } from './flows/index.js';
import { outboxMigrations } from './outbox/index.js';
import { exceptionMigrations } from './exceptions/index.js';
import { wmsMigrations } from './wms/index.js';
import { orderMigrations } from './orders/index.js';
import { riderMigrations } from './riders/index.js';
import { dispatchMigrations } from './dispatch/index.js';
import { deliveryMigrations } from './delivery/index.js';

/** The fulfillment modules' migrations; each module adds its own as it lands. */
export const fulfillmentMigrations: ModuleMigrations[] = [flowMigrations, outboxMigrations, exceptionMigrations, wmsMigrations, orderMigrations, riderMigrations, dispatchMigrations, deliveryMigrations];

/** Opens <dataDir>/fulfillment.db and brings every module's tables up to date. */
export async function openFulfillmentDb(dataDir: string): Promise<{ database: OpenedDatabase<unknown>; applied: string[] }> {
  const database = openSqlite<unknown>(join(dataDir, 'fulfillment.db'));
  try {
    return { database, applied: await migrateModules(database.db, fulfillmentMigrations) };
  } catch (err) {
    await database.close();
    throw err;
  }
}
