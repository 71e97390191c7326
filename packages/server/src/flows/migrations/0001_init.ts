import type { Kysely, Migration } from 'kysely';

export const m0001: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createTable('flow_instances')
      .addColumn('flow', 'text', (c) => c.notNull())
      .addColumn('entity_id', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('entered_at', 'bigint', (c) => c.notNull())
      .addColumn('deadline_at', 'bigint')
      .addColumn('timeout_raised', 'integer', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('flow_instances_pk', ['flow', 'entity_id'])
      .execute();
    await db.schema.createIndex('flow_instances_deadline').on('flow_instances').columns(['timeout_raised', 'deadline_at']).execute();
    await db.schema.createTable('flow_transitions')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('flow', 'text', (c) => c.notNull())
      .addColumn('entity_id', 'text', (c) => c.notNull())
      .addColumn('from_state', 'text')
      .addColumn('to_state', 'text', (c) => c.notNull())
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('actor_role', 'text', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('reason', 'text')
      .execute();
    await db.schema.createIndex('flow_transitions_entity').on('flow_transitions').columns(['flow', 'entity_id', 'id']).execute();
  },
};
