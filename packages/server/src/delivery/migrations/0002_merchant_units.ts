import type { Kysely, Migration } from 'kysely';

/** The owning merchant (merchant-scoped staff see only theirs) and the capacity units of a delivery (live re-planning). */
export const m0002: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('deliveries').addColumn('merchant_id', 'text').execute();
    await db.schema.alterTable('deliveries').addColumn('units', 'integer', (c) => c.notNull().defaultTo(1)).execute();
    await db.schema.createIndex('deliveries_merchant').on('deliveries').columns(['merchant_id', 'created_at']).execute();
  },
};
