import type { Generated, Kysely, Selectable } from 'kysely';

export interface ExceptionTables {
  exceptions: {
    id: string; type: string; severity: string; entity_type: string; entity_id: string; status: string;
    assignee: string | null; detail: string | null; resolution: string | null; note: string | null;
    occurrences: number; created_at: number; updated_at: number; resolved_at: number | null;
  };
  exception_comments: { id: Generated<number>; exception_id: string; author: string; body: string; at: number };
}
export type ExceptionDb = Kysely<ExceptionTables>;
export type ExceptionRow = Selectable<ExceptionTables['exceptions']>;

export const exceptionStore = {
  /** The unresolved exception of this type for this entity, if any (raising again counts an occurrence). */
  openFor(db: ExceptionDb, type: string, entityType: string, entityId: string) {
    return db.selectFrom('exceptions').selectAll().where('type', '=', type).where('entity_type', '=', entityType).where('entity_id', '=', entityId).where('status', '!=', 'resolved').executeTakeFirst();
  },
  async insert(db: ExceptionDb, row: ExceptionRow): Promise<void> {
    await db.insertInto('exceptions').values(row).execute();
  },
  async bump(db: ExceptionDb, id: string, detail: string | null, now: number): Promise<void> {
    await db.updateTable('exceptions').set((eb) => ({ occurrences: eb('occurrences', '+', 1), updated_at: now, detail })).where('id', '=', id).execute();
  },
  get(db: ExceptionDb, id: string) {
    return db.selectFrom('exceptions').selectAll().where('id', '=', id).executeTakeFirst();
  },
  list(db: ExceptionDb, f: { status?: string; type?: string; entityId?: string; cursor?: string; limit: number }) {
    let q = db.selectFrom('exceptions').selectAll();
    if (f.status) q = q.where('status', '=', f.status);
    if (f.type) q = q.where('type', '=', f.type);
    if (f.entityId) q = q.where('entity_id', '=', f.entityId);
    if (f.cursor) q = q.where('id', '<', f.cursor);
    return q.orderBy('id', 'desc').limit(f.limit).execute();
  },
  async update(db: ExceptionDb, id: string, set: Partial<ExceptionRow>): Promise<boolean> {
    const r = await db.updateTable('exceptions').set(set).where('id', '=', id).where('status', '!=', 'resolved').executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },
  async comment(db: ExceptionDb, exceptionId: string, author: string, body: string, at: number): Promise<void> {
    await db.insertInto('exception_comments').values({ exception_id: exceptionId, author, body, at }).execute();
  },
  comments(db: ExceptionDb, exceptionId: string) {
    return db.selectFrom('exception_comments').select(['author', 'body', 'at']).where('exception_id', '=', exceptionId).orderBy('id').execute();
  },
};
