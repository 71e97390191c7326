import type { Kysely, Selectable } from 'kysely';
import { Prepared } from '@infra/core';

export interface RiderTables {
  riders: { id: string; name: string; vehicle: string; capacity: number; load: number; skills: string; home_zone: string | null; merchant_id: string | null; on_duty: number; created_at: number; updated_at: number };
  rider_shifts: { id: string; rider_id: string; starts_at: number; ends_at: number; created_at: number };
  rider_fixes: { rider_id: string; ts: number; lat: number; lng: number; speed: number | null; heading: number | null; accuracy: number | null; flagged: number; received_at: number };
}
export type RiderDb = Kysely<RiderTables>;
export type RiderRow = Selectable<RiderTables['riders']>;
export type ShiftRow = Selectable<RiderTables['rider_shifts']>;
export type FixRow = RiderTables['rider_fixes'];

/** Rows per INSERT statement of a fix batch (9 parameters each, well under SQLite's 32766). */
const FIX_ROWS_PER_INSERT = 500;

/** rider_fixes' columns in the parameter order of insertFixSql (rider_id first, then the numeric ones) */
export const FIX_COLUMNS = ['rider_id', 'ts', 'lat', 'lng', 'speed', 'heading', 'accuracy', 'flagged', 'received_at'] as const satisfies readonly (keyof FixRow)[];

/** one fix; a repeated (rider, ts) is kept once */
const insertFix = new Prepared<RiderTables, FixRow>((db, p) =>
  db.insertInto('rider_fixes').values(p.row(FIX_COLUMNS)).onConflict((oc) => oc.columns(['rider_id', 'ts']).doNothing()));

/** load += units only while it stays within capacity (one conditional UPDATE: safe under concurrency). */
const reserveQuery = (db: RiderDb, id: string, units: number, now: number) =>
  db.updateTable('riders').set((eb) => ({ load: eb('load', '+', units), updated_at: now }))
    .where('id', '=', id).where((eb) => eb(eb('load', '+', units), '<=', eb.ref('capacity')))
    .returning(['load']);

export const riderStore = {
  async insert(db: RiderDb, row: RiderRow): Promise<void> {
    await db.insertInto('riders').values(row).execute();
  },
  rider: (db: RiderDb, id: string) => db.selectFrom('riders').selectAll().where('id', '=', id).executeTakeFirst(),
  all: (db: RiderDb) => db.selectFrom('riders').selectAll().execute(),
  list(db: RiderDb, f: { merchantId?: string | null; onDuty?: boolean; cursor?: string; limit: number }) {
    let q = db.selectFrom('riders').selectAll();
    if (f.merchantId === null) q = q.where('merchant_id', 'is', null);
    else if (f.merchantId !== undefined) q = q.where('merchant_id', '=', f.merchantId);
    if (f.onDuty !== undefined) q = q.where('on_duty', '=', f.onDuty ? 1 : 0);
    if (f.cursor) q = q.where('id', '>', f.cursor);
    return q.orderBy('id').limit(f.limit).execute();
  },
  /** Updates profile fields; a new capacity only applies when it is not below the load. Returns the row, or undefined. */
  update(db: RiderDb, id: string, set: Partial<Omit<RiderRow, 'id' | 'load' | 'created_at'>>) {
    let q = db.updateTable('riders').set(set).where('id', '=', id);
    if (set.capacity !== undefined) q = q.where('load', '<=', set.capacity);
    return q.returningAll().executeTakeFirst();
  },
  setDuty: (db: RiderDb, id: string, onDuty: boolean, now: number) =>
    db.updateTable('riders').set({ on_duty: onDuty ? 1 : 0, updated_at: now }).where('id', '=', id).returningAll().executeTakeFirst(),
  /** load += units only while it stays within capacity (one conditional UPDATE: safe under concurrency). */
  reserve: (db: RiderDb, id: string, units: number, now: number) => reserveQuery(db, id, units, now).executeTakeFirst(),
  reserveQuery,
  async release(db: RiderDb, id: string, units: number, now: number): Promise<number | undefined> {
    const r = await db.updateTable('riders').set((eb) => ({ load: eb('load', '-', units), updated_at: now }))
      .where('id', '=', id).where('load', '>=', units).returning(['load']).executeTakeFirst();
    if (r) return r.load;
    // releasing more than is carried empties the rider rather than going negative
    const z = await db.updateTable('riders').set({ load: 0, updated_at: now }).where('id', '=', id).returning(['load']).executeTakeFirst();
    return z?.load;
  },
  loads: (db: RiderDb, ids: string[]) => db.selectFrom('riders').select(['id', 'load']).where('id', 'in', ids).execute(),
  async insertShift(db: RiderDb, row: ShiftRow): Promise<void> {
    await db.insertInto('rider_shifts').values(row).execute();
  },
  shifts: (db: RiderDb, riderId: string) => db.selectFrom('rider_shifts').selectAll().where('rider_id', '=', riderId).orderBy('starts_at').execute(),
  currentShifts: (db: RiderDb, now: number) => db.selectFrom('rider_shifts').selectAll().where('ends_at', '>', now).execute(),
  ridersWithShifts: (db: RiderDb) => db.selectFrom('rider_shifts').select('rider_id').distinct().execute(),
  hasShifts: async (db: RiderDb, riderId: string) => (await db.selectFrom('rider_shifts').select('id').where('rider_id', '=', riderId).limit(1).executeTakeFirst()) !== undefined,
  deleteShift: (db: RiderDb, riderId: string, shiftId: string) =>
    db.deleteFrom('rider_shifts').where('id', '=', shiftId).where('rider_id', '=', riderId).returning(['id']).executeTakeFirst(),
  /** One batch of fixes; a repeated (rider, ts) is kept once. */
  async insertFixes(db: RiderDb, rows: FixRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += FIX_ROWS_PER_INSERT) {
      await db.insertInto('rider_fixes').values(rows.slice(i, i + FIX_ROWS_PER_INSERT)).onConflict((oc) => oc.columns(['rider_id', 'ts']).doNothing()).execute();
    }
  },
  /** The one-row insert the fix writer thread prepares once (parameters: FIX_COLUMNS in order); a repeated (rider, ts) is kept once. */
  insertFixSql(db: RiderDb): string {
    return insertFix.positional(db, FIX_COLUMNS);
  },
  /** Each rider's newest unflagged fix since `since` (to restore the live positions at start). */
  lastFixes: (db: RiderDb, since: number) =>
    db.selectFrom('rider_fixes as f').selectAll('f').where('f.flagged', '=', 0).where('f.ts', '>', since)
      .where('f.ts', '=', (eb) => eb.selectFrom('rider_fixes as g').select((e) => e.fn.max('g.ts').as('m')).whereRef('g.rider_id', '=', 'f.rider_id').where('g.flagged', '=', 0))
      .execute(),
  /**
   * Deletes up to `limit` of a rider's fixes older than `before`, oldest first (a range of the (rider_id, ts) key);
   * returns how many went.
   */
  async deleteFixesBefore(db: RiderDb, riderId: string, before: number, limit: number): Promise<number> {
    const last = await db.selectFrom('rider_fixes').select('ts').where('rider_id', '=', riderId).where('ts', '<', before).orderBy('ts').limit(1).offset(limit - 1).executeTakeFirst();
    const upTo = last ? Number(last.ts) : before - 1;
    const r = await db.deleteFrom('rider_fixes').where('rider_id', '=', riderId).where('ts', '<=', upTo).executeTakeFirst();
    return Number(r.numDeletedRows);
  },
  countFixes: (db: RiderDb, riderId?: string) => {
    let q = db.selectFrom('rider_fixes').select((eb) => eb.fn.countAll<number>().as('n'));
    if (riderId) q = q.where('rider_id', '=', riderId);
    return q.executeTakeFirstOrThrow().then((r) => Number(r.n));
  },
};
