import type { Generated, Kysely } from 'kysely';
import { Prepared } from '@infra/core';

export interface OutboxTables {
  outbox: { id: Generated<number>; entity: string; topic: string; payload: string; created_at: number; published_at: number | null };
}
export type OutboxDb = Kysely<OutboxTables>;

const appendRow = new Prepared<OutboxTables, { entity: string; topic: string; payload: string; created_at: number; published_at: null }>((db, p) =>
  db.insertInto('outbox').values(p.row(['entity', 'topic', 'payload', 'created_at', 'published_at'])));

export const outboxStore = {
  async append(db: OutboxDb, entity: string, topic: string, payload: unknown, now: number): Promise<void> {
    await appendRow.execute(db, { entity, topic, payload: JSON.stringify(payload), created_at: now, published_at: null });
  },
  pending(db: OutboxDb, limit: number) {
    return db.selectFrom('outbox').select(['id', 'entity', 'topic', 'payload']).where('published_at', 'is', null).orderBy('id').limit(limit).execute();
  },
  async markPublished(db: OutboxDb, ids: number[], now: number): Promise<void> {
    if (ids.length) await db.updateTable('outbox').set({ published_at: now }).where('id', 'in', ids).execute();
  },
  async countPending(db: OutboxDb): Promise<number> {
    const r = await db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('published_at', 'is', null).executeTakeFirstOrThrow();
    return Number(r.n);
  },
};
