import type { Kysely, Migration } from 'kysely';

export const init: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('acl_grants')
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('topic', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'integer')
      .addColumn('granted_at', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('acl_grants_pk', ['user_id', 'topic'])
      .execute();
  },
};
