import type { Kysely, Migration } from 'kysely';

export const m0002: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createTable('wms_waves')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('warehouse_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createTable('wms_pick_tasks')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('wave_id', 'text', (c) => c.notNull().references('wms_waves.id'))
      .addColumn('reservation_id', 'integer', (c) => c.notNull().unique())
      .addColumn('doc_id', 'text', (c) => c.notNull())
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('location_id', 'text', (c) => c.notNull())
      .addColumn('lot', 'text', (c) => c.notNull())
      .addColumn('qty', 'integer', (c) => c.notNull())
      .addColumn('picked', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('picked_by', 'text')
      .addColumn('picked_at', 'bigint')
      .execute();
    await db.schema.createIndex('wms_pick_tasks_wave').on('wms_pick_tasks').columns(['wave_id']).execute();
  },
};
