import type { Kysely, Migration } from 'kysely';

/** Who caused a state change and why (an operator's cut), for the audit trail. */
export const audit: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('media_stream_events').addColumn('actor', 'text').execute();
    await db.schema.alterTable('media_stream_events').addColumn('reason', 'text').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('media_stream_events').dropColumn('reason').execute();
    await db.schema.alterTable('media_stream_events').dropColumn('actor').execute();
  },
};
