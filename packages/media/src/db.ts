import { join } from 'node:path';
import { migrateModules, openSqlite, type Kysely, type OpenedDatabase } from '@infra/core';
import { streamMigrations } from './streams/migrations/index.js';
import { recordingMigrations } from './recordings/migrations/0001_init.js';
import { reviewMigrations } from './review/migrations/0001_init.js';
import type { StreamTables } from './streams/store.js';
import type { RecordingTables } from './recordings/store.js';
import type { ReviewTables } from './review/store.js';

/** Every table of media.db; each module declares (and migrates) its own. */
export type MediaDatabase = StreamTables & RecordingTables & ReviewTables;
export type MediaDb = Kysely<MediaDatabase>;

/** Opens <data.dir>/media.db and runs every media module's migrations. */
export async function openMediaDb(dataDir: string): Promise<OpenedDatabase<MediaDatabase>> {
  const opened = openSqlite<MediaDatabase>(join(dataDir, 'media.db'));
  try {
    await migrateModules(opened.db as unknown as Kysely<unknown>, [streamMigrations, recordingMigrations, reviewMigrations]);
  } catch (err) {
    await opened.close();
    throw err;
  }
  return opened;
}
