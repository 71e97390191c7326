import type { Kysely, Migration } from 'kysely';

export const init: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('im_conversations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('title', 'text')
      .addColumn('created_by', 'text', (c) => c.notNull())
      // "a|b" for direct conversations (sorted pair): one conversation per pair, enforced by the unique index
      .addColumn('direct_key', 'text', (c) => c.unique())
      .addColumn('last_seq', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('expires_at', 'integer')
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('im_members')
      .addColumn('conv_id', 'text', (c) => c.notNull().references('im_conversations.id'))
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      // messages with seq <= joined_seq were sent before this member joined: sync does not return them
      .addColumn('joined_seq', 'integer', (c) => c.notNull())
      .addColumn('read_seq', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('muted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('joined_at', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('im_members_pk', ['conv_id', 'user_id'])
      .execute();
    await db.schema.createIndex('im_members_user').on('im_members').columns(['user_id', 'conv_id']).execute();
    await db.schema
      .createTable('im_messages')
      // global insertion order = the sync cursor
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('conv_id', 'text', (c) => c.notNull().references('im_conversations.id'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('sender_id', 'text', (c) => c.notNull())
      .addColumn('client_msg_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addColumn('edited_at', 'integer')
      .addColumn('recalled_at', 'integer')
      .execute();
    await db.schema.createIndex('im_messages_conv_seq').unique().on('im_messages').columns(['conv_id', 'seq']).execute();
    await db.schema.createIndex('im_messages_dedup').unique().on('im_messages').columns(['conv_id', 'sender_id', 'client_msg_id']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('im_messages').execute();
    await db.schema.dropTable('im_members').execute();
    await db.schema.dropTable('im_conversations').execute();
  },
};
