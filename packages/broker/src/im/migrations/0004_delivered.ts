import { sql, type Kysely, type Migration } from 'kysely';

/** Delivery receipts: the highest seq any of the member's devices confirmed receiving (read implies delivered). */
export const delivered: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('im_members').addColumn('delivered_seq', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await sql`update im_members set delivered_seq = read_seq`.execute(db);
  },
};
