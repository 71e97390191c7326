import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The relay's progress becomes one cursor row (the last id published in order) instead of a `published_at` stamp
 * on every row: booking a batch is one single-row update, and new rows no longer maintain an index on it.
 * Rows not yet published under 0001 start after the cursor (a row published out of turn there may go again:
 * the relay is at-least-once).
 */
export const m0002: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createTable('outbox_cursor')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('last_id', 'integer', (c) => c.notNull())
      .execute();
    await sql`insert into outbox_cursor (id, last_id)
      values (1, coalesce((select min(id) - 1 from outbox where published_at is null), (select max(id) from outbox), 0))`.execute(db);
    await db.schema.dropIndex('outbox_pending').execute();
  },
};
