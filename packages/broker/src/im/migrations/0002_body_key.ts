import type { Kysely, Migration } from 'kysely';

/** Message bodies are encrypted at rest: the id of the data key that sealed each body (NULL: stored in clear). */
export const bodyKey: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('im_messages').addColumn('key_id', 'text').execute();
  },
};
