import { sql, type Kysely, type Migration } from 'kysely';

export const m0002: Migration = {
  async up(db: Kysely<unknown>) {
    // `original` shipments come from order creation (one per warehouse); `reship` ones replace a lost or damaged parcel.
    await db.schema.alterTable('order_shipments').addColumn('kind', 'text', (c) => c.notNull().defaultTo(sql`'original'`)).execute();
    await db.schema.alterTable('order_shipments').addColumn('reason', 'text').execute();
  },
};
