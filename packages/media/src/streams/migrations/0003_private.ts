import type { Kysely, Migration } from 'kysely';

/** Private streams: playback (HLS, cover, FLV) needs a signed token. */
export const privateStreams: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('media_streams').addColumn('private', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('media_streams').dropColumn('private').execute();
  },
};
