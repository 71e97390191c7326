import type { Kysely, Selectable } from 'kysely';

export interface OrderTables {
  orders: { id: string; customer_id: string; status: string; currency: string; subtotal: number; total: number; address: string; warehouse: string | null; created_by: string; created_at: number; updated_at: number };
  order_lines: { order_id: string; line_no: number; sku: string; qty: number; unit_price: number; line_total: number };
  order_idempotency: { actor: string; key: string; request_hash: string; order_id: string; response: string; created_at: number };
  order_payments: { id: string; order_id: string; provider: string; amount: number; currency: string; status: string; reference: string; created_at: number };
  order_shipments: { id: string; order_id: string; warehouse: string; status: string; carrier: string | null; tracking_number: string | null; updated_at: number; kind: string; reason: string | null };
}
export type OrderDb = Kysely<OrderTables>;
export type OrderRow = Selectable<OrderTables['orders']>;

export const orderStore = {
  idempotency: (db: OrderDb, actor: string, key: string) => db.selectFrom('order_idempotency').selectAll().where('actor', '=', actor).where('key', '=', key).executeTakeFirst(),
  async saveIdempotency(db: OrderDb, row: OrderTables['order_idempotency']): Promise<void> {
    await db.insertInto('order_idempotency').values(row).execute();
  },
  async insertOrder(db: OrderDb, order: OrderRow, lines: OrderTables['order_lines'][]): Promise<void> {
    await db.insertInto('orders').values(order).execute();
    await db.insertInto('order_lines').values(lines).execute();
  },
  order: (db: OrderDb, id: string) => db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst(),
  lines: (db: OrderDb, id: string) => db.selectFrom('order_lines').selectAll().where('order_id', '=', id).orderBy('line_no').execute(),
  payments: (db: OrderDb, id: string) => db.selectFrom('order_payments').selectAll().where('order_id', '=', id).orderBy('created_at').execute(),
  shipments: (db: OrderDb, id: string) => db.selectFrom('order_shipments').selectAll().where('order_id', '=', id).orderBy('id').execute(),
  async setStatus(db: OrderDb, id: string, status: string, now: number): Promise<void> {
    await db.updateTable('orders').set({ status, updated_at: now }).where('id', '=', id).execute();
  },
  async insertPayment(db: OrderDb, row: OrderTables['order_payments']): Promise<void> {
    await db.insertInto('order_payments').values(row).execute();
  },
  async insertShipments(db: OrderDb, rows: OrderTables['order_shipments'][]): Promise<void> {
    if (rows.length) await db.insertInto('order_shipments').values(rows).execute();
  },
  /** Moves every shipment of the order that is in `from` (the whole order shipped or delivered at once). */
  async updateShipments(db: OrderDb, orderId: string, from: string, set: Partial<OrderTables['order_shipments']>): Promise<void> {
    await db.updateTable('order_shipments').set(set).where('order_id', '=', orderId).where('status', '=', from).execute();
  },
  shipment: (db: OrderDb, orderId: string, id: string) => db.selectFrom('order_shipments').selectAll().where('order_id', '=', orderId).where('id', '=', id).executeTakeFirst(),
  /** One shipment from `from` to a new status; false when it was not in `from` (a concurrent change won). */
  async moveShipment(db: OrderDb, id: string, from: string, set: Partial<OrderTables['order_shipments']>): Promise<boolean> {
    return Number((await db.updateTable('order_shipments').set(set).where('id', '=', id).where('status', '=', from).executeTakeFirst()).numUpdatedRows) === 1;
  },
  list(db: OrderDb, f: { status?: string; customer?: string; cursor?: string; limit: number }) {
    let q = db.selectFrom('orders').selectAll();
    if (f.customer) q = q.where('customer_id', '=', f.customer);
    if (f.status) q = q.where('status', '=', f.status);
    if (f.cursor) q = q.where('id', '<', f.cursor);
    return q.orderBy('id', 'desc').limit(f.limit).execute();
  },
};
