import type { Kysely, Migration } from 'kysely';

export const m0001: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createTable('dispatch_jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('order_id', 'text', (c) => c.notNull())
      .addColumn('customer_id', 'text')
      .addColumn('merchant_id', 'text')
      .addColumn('zone', 'text', (c) => c.notNull())
      .addColumn('strategy', 'text', (c) => c.notNull())
      .addColumn('pickup_lat', 'double precision', (c) => c.notNull())
      .addColumn('pickup_lng', 'double precision', (c) => c.notNull())
      .addColumn('dropoff_lat', 'double precision', (c) => c.notNull())
      .addColumn('dropoff_lng', 'double precision', (c) => c.notNull())
      .addColumn('units', 'integer', (c) => c.notNull())
      .addColumn('skills', 'text', (c) => c.notNull())
      .addColumn('proof', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('rider_id', 'text')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('dispatch_jobs_status').on('dispatch_jobs').columns(['status', 'strategy', 'zone']).execute();
    await db.schema.createTable('dispatch_offers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('job_id', 'text', (c) => c.notNull().references('dispatch_jobs.id'))
      .addColumn('rider_id', 'text', (c) => c.notNull())
      .addColumn('rank', 'integer', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('answered_at', 'bigint')
      .execute();
    await db.schema.createIndex('dispatch_offers_job').on('dispatch_offers').columns(['job_id', 'status']).execute();
    await db.schema.createIndex('dispatch_offers_open').on('dispatch_offers').columns(['status', 'expires_at']).execute();
    await db.schema.createIndex('dispatch_offers_rider').on('dispatch_offers').columns(['rider_id', 'status']).execute();
    await db.schema.createTable('dispatch_decisions')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('job_id', 'text', (c) => c.notNull())
      .addColumn('rider_id', 'text')
      .addColumn('strategy', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('distance_m', 'double precision')
      .addColumn('load', 'integer')
      .addColumn('capacity', 'integer')
      .addColumn('score', 'double precision')
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('dispatch_decisions_job').on('dispatch_decisions').columns(['job_id', 'id']).execute();
    // riders already granted their offers topic (the grant is durable in the broker; write it once)
    await db.schema.createTable('dispatch_topic_grants')
      .addColumn('rider_id', 'text', (c) => c.primaryKey())
      .addColumn('granted_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};
