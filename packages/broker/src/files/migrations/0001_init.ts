import type { Kysely, Migration } from 'kysely';

export const init: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('files')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('uploader_id', 'text', (c) => c.notNull())
      // the conversation the upload was made for (members may read it before any message refers to it)
      .addColumn('conv_id', 'text')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('mime', 'text', (c) => c.notNull())
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      // 1 = any authenticated user may read it (sticker images)
      .addColumn('public', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('width', 'integer')
      .addColumn('height', 'integer')
      .addColumn('duration_ms', 'integer')
      .addColumn('has_thumbnail', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('has_audio', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('error', 'text')
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addColumn('processed_at', 'integer')
      .execute();
    await db.schema.createIndex('files_status').on('files').columns(['status']).execute();
    // conversations a message carried the file into: their members may download it
    await db.schema
      .createTable('file_attachments')
      .addColumn('file_id', 'text', (c) => c.notNull().references('files.id'))
      .addColumn('conv_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('file_attachments_pk', ['file_id', 'conv_id'])
      .execute();
    await db.schema
      .createTable('sticker_packs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('stickers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('pack_id', 'text', (c) => c.notNull().references('sticker_packs.id'))
      .addColumn('file_id', 'text', (c) => c.notNull().references('files.id'))
      .addColumn('name', 'text')
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('stickers_pack').on('stickers').columns(['pack_id', 'created_at']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('stickers').execute();
    await db.schema.dropTable('sticker_packs').execute();
    await db.schema.dropTable('file_attachments').execute();
    await db.schema.dropTable('files').execute();
  },
};
