import type { Kysely, Migration } from 'kysely';

/** Which user a persistent MQTT session (by client id) belongs to. */
export const init: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('mqtt_session_owners')
      .addColumn('client_id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('claimed_at', 'integer', (c) => c.notNull())
      .execute();
  },
};
