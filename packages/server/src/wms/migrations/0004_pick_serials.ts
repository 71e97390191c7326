import type { Kysely, Migration } from 'kysely';

export const m0004: Migration = {
  async up(db: Kysely<unknown>) {
    // The serials scanned at pick for a serial-tracked SKU: they leave the ledger one by one at ship.
    await db.schema.createTable('wms_pick_serials')
      .addColumn('reservation_id', 'integer', (c) => c.notNull())
      .addColumn('task_id', 'integer', (c) => c.notNull())
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('serial', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('wms_pick_serials_pk', ['reservation_id', 'serial'])
      .execute();
    await db.schema.createIndex('wms_pick_serials_serial').on('wms_pick_serials').columns(['sku', 'serial']).execute();
  },
};
