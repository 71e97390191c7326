import type { Generated, Kysely } from 'kysely';
import { Prepared } from '@infra/core';

export interface OutboxTables {
  /** `published_at` is no longer written (0002): what is published is what lies at or below the cursor */
  outbox: { id: Generated<number>; entity: string; topic: string; payload: string; created_at: number; published_at: number | null };
  outbox_cursor: { id: number; last_id: number };
}
export type OutboxDb = Kysely<OutboxTables>;

export interface OutboxRow { id: number; entity: string; topic: string; payload: string }

const q = {
  append: new Prepared<OutboxTables, { entity: string; topic: string; payload: string; created_at: number }>((db, p) =>
    db.insertInto('outbox').values(p.row(['entity', 'topic', 'payload', 'created_at']))),
  after: new Prepared<OutboxTables, { after: number; limit: number }, OutboxRow>((db, p) =>
    db.selectFrom('outbox').select(['id', 'entity', 'topic', 'payload']).where('id', '>', p('after')).orderBy('id').limit(p('limit'))),
  cursor: new Prepared<OutboxTables, Record<string, never>, { last_id: number }>((db) => db.selectFrom('outbox_cursor').select('last_id').where('id', '=', 1)),
  advance: new Prepared<OutboxTables, { to: number }>((db, p) =>
    db.updateTable('outbox_cursor').set({ last_id: p('to') }).where('id', '=', 1).where('last_id', '<', p('to'))),
};

export const outboxStore = {
  async append(db: OutboxDb, entity: string, topic: string, payload: unknown, now: number): Promise<void> {
    await q.append.execute(db, { entity, topic, payload: JSON.stringify(payload), created_at: now });
  },
  /** the last id published with every row before it */
  async cursor(db: OutboxDb): Promise<number> {
    return Number((await q.cursor.execute(db, {})).rows[0]?.last_id ?? 0);
  },
  /** rows after `after`, oldest first (a primary-key range) */
  async pending(db: OutboxDb, after: number, limit: number): Promise<OutboxRow[]> {
    return (await q.after.execute(db, { after, limit })).rows;
  },
  /** books every row up to `to` as published; the cursor never moves back */
  async advance(db: OutboxDb, to: number): Promise<void> {
    await q.advance.execute(db, { to });
  },
  async countPending(db: OutboxDb): Promise<number> {
    const after = await outboxStore.cursor(db);
    const r = await db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('id', '>', after).executeTakeFirstOrThrow();
    return Number(r.n);
  },
};
