import type { Kysely, Migration } from 'kysely';

export const m0001: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createTable('deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('job_id', 'text', (c) => c.notNull().unique())
      .addColumn('order_id', 'text', (c) => c.notNull())
      .addColumn('customer_id', 'text')
      .addColumn('rider_id', 'text', (c) => c.notNull())
      .addColumn('zone', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('pickup_lat', 'double precision', (c) => c.notNull())
      .addColumn('pickup_lng', 'double precision', (c) => c.notNull())
      .addColumn('dropoff_lat', 'double precision', (c) => c.notNull())
      .addColumn('dropoff_lng', 'double precision', (c) => c.notNull())
      .addColumn('proof_policy', 'text', (c) => c.notNull())
      .addColumn('code', 'text', (c) => c.notNull())
      .addColumn('code_failures', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('proof', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('finished_at', 'bigint')
      .execute();
    await db.schema.createIndex('deliveries_order').on('deliveries').columns(['order_id']).execute();
    await db.schema.createIndex('deliveries_rider').on('deliveries').columns(['rider_id', 'finished_at']).execute();
    await db.schema.createIndex('deliveries_open').on('deliveries').columns(['finished_at']).execute();
    // every published prediction, and once the rider arrives the actual time (for GET /delivery/eta-accuracy)
    await db.schema.createTable('delivery_etas')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('delivery_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('made_at', 'bigint', (c) => c.notNull())
      .addColumn('predicted_at', 'bigint', (c) => c.notNull())
      .addColumn('actual_at', 'bigint')
      .execute();
    await db.schema.createIndex('delivery_etas_delivery').on('delivery_etas').columns(['delivery_id', 'kind']).execute();
    await db.schema.createIndex('delivery_etas_actual').on('delivery_etas').columns(['actual_at']).execute();
  },
};
