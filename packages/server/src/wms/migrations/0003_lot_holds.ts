import type { Kysely, Migration } from 'kysely';

export const m0003: Migration = {
  async up(db: Kysely<unknown>) {
    // A quarantined lot stays on hand but is never allocated.
    await db.schema.createTable('wms_lot_holds')
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('lot', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('held_by', 'text', (c) => c.notNull())
      .addColumn('held_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('wms_lot_holds_pk', ['sku', 'lot'])
      .execute();
  },
};
