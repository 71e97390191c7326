import type { Kysely, Selectable } from 'kysely';
import { Prepared } from '@infra/core';

export interface OrderTables {
  orders: { id: string; customer_id: string; status: string; currency: string; subtotal: number; total: number; address: string; warehouse: string | null; created_by: string; created_at: number; updated_at: number };
  order_lines: { order_id: string; line_no: number; sku: string; qty: number; unit_price: number; line_total: number };
  order_idempotency: { actor: string; key: string; request_hash: string; order_id: string; response: string; created_at: number };
  order_payments: { id: string; order_id: string; provider: string; amount: number; currency: string; status: string; reference: string; created_at: number };
  order_shipments: { id: string; order_id: string; warehouse: string; status: string; carrier: string | null; tracking_number: string | null; updated_at: number; kind: string; reason: string | null };
}
export type OrderDb = Kysely<OrderTables>;
export type OrderRow = Selectable<OrderTables['orders']>;

// the statements of order creation, compiled once (core/db/prepared.ts)
const q = {
  idempotency: new Prepared<OrderTables, { actor: string; key: string }, Selectable<OrderTables['order_idempotency']>>((db, p) =>
    db.selectFrom('order_idempotency').selectAll().where('actor', '=', p('actor')).where('key', '=', p('key'))),
  saveIdempotency: new Prepared<OrderTables, OrderTables['order_idempotency']>((db, p) =>
    db.insertInto('order_idempotency').values(p.row(['actor', 'key', 'request_hash', 'order_id', 'response', 'created_at']))),
  insertOrder: new Prepared<OrderTables, OrderRow>((db, p) =>
    db.insertInto('orders').values(p.row(['id', 'customer_id', 'status', 'currency', 'subtotal', 'total', 'address', 'warehouse', 'created_by', 'created_at', 'updated_at']))),
  insertLine: new Prepared<OrderTables, OrderTables['order_lines']>((db, p) =>
    db.insertInto('order_lines').values(p.row(['order_id', 'line_no', 'sku', 'qty', 'unit_price', 'line_total']))),
  insertShipment: new Prepared<OrderTables, OrderTables['order_shipments']>((db, p) =>
    db.insertInto('order_shipments').values(p.row(['id', 'order_id', 'warehouse', 'status', 'carrier', 'tracking_number', 'updated_at', 'kind', 'reason']))),
};

export const orderStore = {
  idempotency: async (db: OrderDb, actor: string, key: string) => (await q.idempotency.execute(db, { actor, key })).rows[0],
  async saveIdempotency(db: OrderDb, row: OrderTables['order_idempotency']): Promise<void> {
    await q.saveIdempotency.execute(db, row);
  },
  async insertOrder(db: OrderDb, order: OrderRow, lines: OrderTables['order_lines'][]): Promise<void> {
    await q.insertOrder.execute(db, order);
    for (const line of lines) await q.insertLine.execute(db, line);
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
    for (const row of rows) await q.insertShipment.execute(db, row);
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
