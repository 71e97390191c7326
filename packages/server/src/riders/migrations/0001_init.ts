import { sql, type Kysely, type Migration } from 'kysely';

export const m0001: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createTable('riders')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('vehicle', 'text', (c) => c.notNull())
      .addColumn('capacity', 'integer', (c) => c.notNull())
      .addColumn('load', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('skills', 'text', (c) => c.notNull())
      .addColumn('home_zone', 'text')
      .addColumn('merchant_id', 'text')
      .addColumn('on_duty', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addCheckConstraint('riders_load_range', sql`load >= 0 and load <= capacity`)
      .execute();
    await db.schema.createIndex('riders_merchant').on('riders').columns(['merchant_id', 'id']).execute();
    await db.schema.createTable('rider_shifts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('rider_id', 'text', (c) => c.notNull().references('riders.id'))
      .addColumn('starts_at', 'bigint', (c) => c.notNull())
      .addColumn('ends_at', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('rider_shifts_rider').on('rider_shifts').columns(['rider_id', 'ends_at']).execute();
    // GPS history; no foreign key: a device may publish before its profile exists
    await db.schema.createTable('rider_fixes')
      .addColumn('rider_id', 'text', (c) => c.notNull())
      .addColumn('ts', 'bigint', (c) => c.notNull())
      .addColumn('lat', 'double precision', (c) => c.notNull())
      .addColumn('lng', 'double precision', (c) => c.notNull())
      .addColumn('speed', 'double precision')
      .addColumn('heading', 'double precision')
      .addColumn('accuracy', 'double precision')
      .addColumn('flagged', 'integer', (c) => c.notNull())
      .addColumn('received_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('rider_fixes_pk', ['rider_id', 'ts'])
      .execute();
  },
};
