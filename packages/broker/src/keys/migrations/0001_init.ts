import type { Kysely, Migration } from 'kysely';

/** One X25519 public key per user for end-to-end encrypted direct messages (the secret key never leaves the device). */
export const init: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('im_public_keys')
      .addColumn('user_id', 'text', (c) => c.primaryKey())
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'integer', (c) => c.notNull())
      .execute();
  },
};
