import type { Kysely, Migration } from 'kysely';

/** The start-up re-seal looks for bodies not sealed by the current key: an index keeps that from scanning every message. */
export const bodyKeyIndex: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createIndex('im_messages_key_id').on('im_messages').column('key_id').execute();
  },
};
