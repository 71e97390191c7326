import type { Kysely } from 'kysely';
import { Prepared } from '@infra/core';

export interface GrantRow {
  user_id: string;
  topic: string;
  expires_at: number | null;
  granted_at: number;
}
export interface GrantTables {
  acl_grants: GrantRow;
}
type Db = Kysely<GrantTables>;

/** one grant per order created: compiled once (core/db/prepared.ts) */
const upsertGrant = new Prepared<GrantTables, GrantRow>((db, p) => db
  .insertInto('acl_grants')
  .values(p.row(['user_id', 'topic', 'expires_at', 'granted_at']))
  .onConflict((oc) => oc.columns(['user_id', 'topic']).doUpdateSet({ expires_at: p('expires_at'), granted_at: p('granted_at') })));

export const grantStore = {
  /** the grants still in force at `now` */
  live(db: Db, now: number): Promise<GrantRow[]> {
    return db.selectFrom('acl_grants').selectAll().where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])).execute();
  },
  async upsert(db: Db, row: GrantRow): Promise<void> {
    await upsertGrant.execute(db, row);
  },
  async remove(db: Db, userId: string, topic: string): Promise<void> {
    await db.deleteFrom('acl_grants').where('user_id', '=', userId).where('topic', '=', topic).execute();
  },
  async purgeExpired(db: Db, now: number): Promise<number> {
    const r = await db.deleteFrom('acl_grants').where('expires_at', 'is not', null).where('expires_at', '<=', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  },
};
