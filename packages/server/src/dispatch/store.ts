import type { Generated, Kysely, Selectable } from 'kysely';

export type JobStatus = 'pooled' | 'offered' | 'assigned' | 'delivered' | 'failed' | 'cancelled';
export type OfferStatus = 'pending' | 'accepted' | 'rejected' | 'expired' | 'withdrawn';

export interface DispatchTables {
  dispatch_jobs: {
    id: string; order_id: string; customer_id: string | null; merchant_id: string | null; zone: string; strategy: string;
    pickup_lat: number; pickup_lng: number; dropoff_lat: number; dropoff_lng: number; units: number; skills: string; proof: string;
    status: JobStatus; rider_id: string | null; created_by: string; created_at: number; updated_at: number;
  };
  dispatch_offers: { id: string; job_id: string; rider_id: string; /** 1 = the nearest of its round */ rank: number; status: OfferStatus; created_at: number; expires_at: number; answered_at: number | null };
  dispatch_decisions: {
    id: Generated<number>; job_id: string; rider_id: string | null; strategy: string; outcome: string;
    distance_m: number | null; load: number | null; capacity: number | null; score: number | null; reason: string; at: number;
  };
  dispatch_topic_grants: { rider_id: string; granted_at: number };
}
export type DispatchDb = Kysely<DispatchTables>;
export type JobRow = Selectable<DispatchTables['dispatch_jobs']>;
export type OfferRow = Selectable<DispatchTables['dispatch_offers']>;
export type DecisionRow = Selectable<DispatchTables['dispatch_decisions']>;
export type DecisionInput = Omit<DispatchTables['dispatch_decisions'], 'id'>;

export const dispatchStore = {
  async insertJob(db: DispatchDb, row: JobRow): Promise<void> {
    await db.insertInto('dispatch_jobs').values(row).execute();
  },
  job: (db: DispatchDb, id: string) => db.selectFrom('dispatch_jobs').selectAll().where('id', '=', id).executeTakeFirst(),
  /** Moves a job from one status to another only if nobody moved it meanwhile; false when it lost the race. */
  async moveJob(db: DispatchDb, id: string, from: JobStatus[], to: JobStatus, now: number, riderId?: string | null): Promise<boolean> {
    const r = await db.updateTable('dispatch_jobs').set({ status: to, updated_at: now, ...(riderId !== undefined ? { rider_id: riderId } : {}) })
      .where('id', '=', id).where('status', 'in', from).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },
  pooled: (db: DispatchDb, strategy: string, limit: number) =>
    db.selectFrom('dispatch_jobs').selectAll().where('status', '=', 'pooled').where('strategy', '=', strategy).orderBy('created_at').orderBy('id').limit(limit).execute(),
  async insertOffers(db: DispatchDb, rows: OfferRow[]): Promise<void> {
    if (rows.length) await db.insertInto('dispatch_offers').values(rows).execute();
  },
  offer: (db: DispatchDb, id: string) => db.selectFrom('dispatch_offers').selectAll().where('id', '=', id).executeTakeFirst(),
  offersOfJob: (db: DispatchDb, jobId: string) => db.selectFrom('dispatch_offers').selectAll().where('job_id', '=', jobId).orderBy('created_at').orderBy('rank').execute(),
  openOffersOfRider: (db: DispatchDb, riderId: string) =>
    db.selectFrom('dispatch_offers').selectAll().where('rider_id', '=', riderId).where('status', '=', 'pending').orderBy('created_at').execute(),
  /** Answers a pending offer; false when it was no longer pending. */
  async closeOffer(db: DispatchDb, id: string, to: OfferStatus, now: number): Promise<boolean> {
    const r = await db.updateTable('dispatch_offers').set({ status: to, answered_at: now }).where('id', '=', id).where('status', '=', 'pending').executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },
  /** Withdraws every other pending offer of a job; returns them (to tell their riders). */
  async withdrawOthers(db: DispatchDb, jobId: string, keepId: string | null, now: number): Promise<OfferRow[]> {
    let q = db.selectFrom('dispatch_offers').selectAll().where('job_id', '=', jobId).where('status', '=', 'pending');
    if (keepId) q = q.where('id', '!=', keepId);
    const rows = await q.execute();
    const closed: OfferRow[] = [];
    for (const o of rows) if (await dispatchStore.closeOffer(db, o.id, 'withdrawn', now)) closed.push(o);
    return closed;
  },
  dueOffers: (db: DispatchDb, now: number, limit: number) =>
    db.selectFrom('dispatch_offers').selectAll().where('status', '=', 'pending').where('expires_at', '<=', now).orderBy('expires_at').limit(limit).execute(),
  async decide(db: DispatchDb, d: DecisionInput): Promise<void> {
    await db.insertInto('dispatch_decisions').values(d).execute();
  },
  lastDecision: (db: DispatchDb, jobId: string) => db.selectFrom('dispatch_decisions').selectAll().where('job_id', '=', jobId).orderBy('id', 'desc').limit(1).executeTakeFirst(),
  decisions: (db: DispatchDb, jobId: string, limit: number) => db.selectFrom('dispatch_decisions').selectAll().where('job_id', '=', jobId).orderBy('id').limit(limit).execute(),
  /** true the first time for a rider (then the grant must be written), false after. */
  async markGranted(db: DispatchDb, riderId: string, now: number): Promise<boolean> {
    const r = await db.insertInto('dispatch_topic_grants').values({ rider_id: riderId, granted_at: now }).onConflict((oc) => oc.column('rider_id').doNothing()).returning('rider_id').executeTakeFirst();
    return r !== undefined;
  },
};
