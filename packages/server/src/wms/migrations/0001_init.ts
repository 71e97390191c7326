import { sql, type Kysely, type Migration } from 'kysely';

export const m0001: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createTable('wms_warehouses')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('code', 'text', (c) => c.notNull().unique())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createTable('wms_locations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('warehouse_id', 'text', (c) => c.notNull().references('wms_warehouses.id'))
      .addColumn('code', 'text', (c) => c.notNull())
      .addColumn('zone', 'text', (c) => c.notNull())
      .addColumn('aisle', 'text', (c) => c.notNull())
      .addColumn('bin', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('wms_locations_code', ['warehouse_id', 'code'])
      .execute();
    await db.schema.createTable('wms_skus')
      .addColumn('sku', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('lot_tracked', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('serial_tracked', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('price', 'bigint')
      .addColumn('currency', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    // One row per (sku, location, lot); lot '' = not lot-tracked. available = on_hand - reserved, kept as a
    // column so a reservation is one conditional UPDATE ... WHERE available >= ?.
    await db.schema.createTable('wms_inventory')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('sku', 'text', (c) => c.notNull().references('wms_skus.sku'))
      .addColumn('location_id', 'text', (c) => c.notNull().references('wms_locations.id'))
      .addColumn('warehouse_id', 'text', (c) => c.notNull())
      .addColumn('lot', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('expires_at', 'bigint')
      .addColumn('received_at', 'bigint', (c) => c.notNull())
      .addColumn('on_hand', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('reserved', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('available', 'integer', (c) => c.notNull().defaultTo(0))
      .addUniqueConstraint('wms_inventory_key', ['sku', 'location_id', 'lot'])
      .addCheckConstraint('wms_inventory_nonneg', sql`on_hand >= 0 and reserved >= 0 and available >= 0 and available = on_hand - reserved`)
      .execute();
    await db.schema.createIndex('wms_inventory_sku').on('wms_inventory').columns(['sku', 'warehouse_id']).execute();
    // The append-only movement ledger: on-hand of any (sku, location, lot) is the sum of its qty.
    await db.schema.createTable('wms_movements')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('location_id', 'text', (c) => c.notNull())
      .addColumn('lot', 'text', (c) => c.notNull())
      .addColumn('serial', 'text')
      .addColumn('qty', 'integer', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('doc_type', 'text')
      .addColumn('doc_id', 'text')
      .execute();
    await db.schema.createIndex('wms_movements_sku').on('wms_movements').columns(['sku', 'location_id', 'lot']).execute();
    await db.schema.createIndex('wms_movements_lot').on('wms_movements').columns(['lot']).execute();
    await db.schema.createIndex('wms_movements_serial').on('wms_movements').columns(['serial']).execute();
    await db.schema.createTable('wms_reservations')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('doc_type', 'text', (c) => c.notNull())
      .addColumn('doc_id', 'text', (c) => c.notNull())
      .addColumn('inventory_id', 'integer', (c) => c.notNull().references('wms_inventory.id'))
      .addColumn('qty', 'integer', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('wms_reservations_doc').on('wms_reservations').columns(['doc_type', 'doc_id']).execute();
    await db.schema.createTable('wms_receipts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('warehouse_id', 'text', (c) => c.notNull().references('wms_warehouses.id'))
      .addColumn('reference', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('lines', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};
