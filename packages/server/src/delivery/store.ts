import type { Generated, Kysely, Selectable } from 'kysely';

export interface DeliveryTables {
  deliveries: {
    id: string; job_id: string; order_id: string; customer_id: string | null; rider_id: string; zone: string; status: string;
    pickup_lat: number; pickup_lng: number; dropoff_lat: number; dropoff_lng: number; proof_policy: string; code: string; code_failures: number; proof: string | null;
    /** the job's merchant (null = none) and capacity units */
    merchant_id: string | null; units: number;
    created_at: number; updated_at: number; finished_at: number | null;
  };
  delivery_etas: { id: Generated<number>; delivery_id: string; kind: 'pickup' | 'dropoff'; made_at: number; predicted_at: number; actual_at: number | null };
}
export type DeliveryDb = Kysely<DeliveryTables>;
export type DeliveryRow = Selectable<DeliveryTables['deliveries']>;

export const deliveryStore = {
  async insert(db: DeliveryDb, row: DeliveryRow): Promise<void> {
    await db.insertInto('deliveries').values(row).execute();
  },
  get: (db: DeliveryDb, id: string) => db.selectFrom('deliveries').selectAll().where('id', '=', id).executeTakeFirst(),
  byJob: (db: DeliveryDb, jobId: string) => db.selectFrom('deliveries').selectAll().where('job_id', '=', jobId).executeTakeFirst(),
  list(db: DeliveryDb, f: { order?: string; job?: string; rider?: string; customer?: string; merchant?: string; limit: number }) {
    let q = db.selectFrom('deliveries').selectAll();
    if (f.merchant) q = q.where('merchant_id', '=', f.merchant);
    if (f.order) q = q.where('order_id', '=', f.order);
    if (f.job) q = q.where('job_id', '=', f.job);
    if (f.rider) q = q.where('rider_id', '=', f.rider);
    if (f.customer) q = q.where('customer_id', '=', f.customer);
    return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit).execute();
  },
  open: (db: DeliveryDb) => db.selectFrom('deliveries').selectAll().where('finished_at', 'is', null).orderBy('created_at').orderBy('id').execute(),
  async update(db: DeliveryDb, id: string, set: Partial<DeliveryRow>): Promise<void> {
    await db.updateTable('deliveries').set(set).where('id', '=', id).execute();
  },
  /** One more wrong code; returns the new count. */
  async codeFailed(db: DeliveryDb, id: string): Promise<number> {
    const r = await db.updateTable('deliveries').set((eb) => ({ code_failures: eb('code_failures', '+', 1) })).where('id', '=', id).returning('code_failures').executeTakeFirst();
    return r?.code_failures ?? 0;
  },
  async addPrediction(db: DeliveryDb, row: { delivery_id: string; kind: 'pickup' | 'dropoff'; made_at: number; predicted_at: number }): Promise<void> {
    await db.insertInto('delivery_etas').values({ ...row, actual_at: null }).execute();
  },
  /** The rider arrived: every prediction of that leg gets the actual time. */
  async arrived(db: DeliveryDb, deliveryId: string, kind: 'pickup' | 'dropoff', at: number): Promise<void> {
    await db.updateTable('delivery_etas').set({ actual_at: at }).where('delivery_id', '=', deliveryId).where('kind', '=', kind).where('actual_at', 'is', null).execute();
  },
  /** The newest predictions with an actual time (predicted and actual, epoch ms). */
  settledPredictions: (db: DeliveryDb, limit: number) =>
    db.selectFrom('delivery_etas').select(['kind', 'predicted_at', 'actual_at']).where('actual_at', 'is not', null).orderBy('id', 'desc').limit(limit).execute(),
};
