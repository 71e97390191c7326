import type { Generated, Kysely, Selectable } from 'kysely';
import { Prepared } from '@infra/core';

export interface WmsTables {
  wms_warehouses: { id: string; code: string; name: string; created_at: number };
  wms_locations: { id: string; warehouse_id: string; code: string; zone: string; aisle: string; bin: string; created_at: number };
  wms_skus: { sku: string; name: string; lot_tracked: number; serial_tracked: number; price: number | null; currency: string | null; created_at: number };
  wms_inventory: { id: Generated<number>; sku: string; location_id: string; warehouse_id: string; lot: string; expires_at: number | null; received_at: number; on_hand: number; reserved: number; available: number };
  wms_movements: { id: Generated<number>; at: number; sku: string; location_id: string; lot: string; serial: string | null; qty: number; kind: string; actor: string; reason: string | null; doc_type: string | null; doc_id: string | null };
  wms_reservations: { id: Generated<number>; doc_type: string; doc_id: string; inventory_id: number; qty: number; status: string; created_at: number };
  wms_lot_holds: { sku: string; lot: string; reason: string; held_by: string; held_at: number };
  wms_waves: { id: string; warehouse_id: string; status: string; created_by: string; created_at: number };
  wms_pick_tasks: { id: Generated<number>; wave_id: string; reservation_id: number; doc_id: string; sku: string; location_id: string; lot: string; qty: number; picked: number; picked_by: string | null; picked_at: number | null };
  wms_pick_serials: { reservation_id: number; task_id: number; sku: string; serial: string };
  wms_receipts: { id: string; warehouse_id: string; reference: string | null; status: string; lines: string; created_at: number; updated_at: number };
}
export type WmsDb = Kysely<WmsTables>;
export type SkuRow = Selectable<WmsTables['wms_skus']>;
export type InventoryRow = Selectable<WmsTables['wms_inventory']>;
export type MovementInsert = Omit<WmsTables['wms_movements'], 'id'>;

const changed = (r: { numUpdatedRows: bigint }): boolean => Number(r.numUpdatedRows) === 1;

interface Candidate { id: number; available: number; lot: string; location_code: string; warehouse_code: string }
/** allocation candidates, one compiled query per shape (in one warehouse or any; FEFO or FIFO) */
const candidateQuery = (inWarehouse: boolean, fefo: boolean) => new Prepared<WmsTables, { sku: string; now: number; warehouseId: string }, Candidate>((db, p) => {
  let q = db.selectFrom('wms_inventory').innerJoin('wms_locations', 'wms_locations.id', 'wms_inventory.location_id').innerJoin('wms_warehouses', 'wms_warehouses.id', 'wms_inventory.warehouse_id')
    .select(['wms_inventory.id', 'wms_inventory.available', 'wms_inventory.lot', 'wms_locations.code as location_code', 'wms_warehouses.code as warehouse_code'])
    .where('wms_inventory.sku', '=', p('sku')).where('wms_inventory.available', '>', 0)
    .where((eb) => eb.or([eb('wms_inventory.expires_at', 'is', null), eb('wms_inventory.expires_at', '>', p('now'))]))
    .where((eb) => eb.not(eb.exists(eb.selectFrom('wms_lot_holds').select('wms_lot_holds.lot').whereRef('wms_lot_holds.sku', '=', 'wms_inventory.sku').whereRef('wms_lot_holds.lot', '=', 'wms_inventory.lot'))));
  if (inWarehouse) q = q.where('wms_inventory.warehouse_id', '=', p('warehouseId'));
  if (fefo) q = q.orderBy('wms_inventory.expires_at', (ob) => ob.asc().nullsLast());
  return q.orderBy('wms_inventory.received_at').orderBy('wms_inventory.id');
});
// the statements of a reservation, compiled once (core/db/prepared.ts)
const q = {
  sku: new Prepared<WmsTables, { sku: string }, SkuRow>((db, p) => db.selectFrom('wms_skus').selectAll().where('sku', '=', p('sku'))),
  candidates: [candidateQuery(false, false), candidateQuery(false, true), candidateQuery(true, false), candidateQuery(true, true)],
  reserve: new Prepared<WmsTables, { id: number; qty: number }>((db, p) => db.updateTable('wms_inventory').set((eb) => ({ reserved: eb('reserved', '+', p('qty')), available: eb('available', '-', p('qty')) }))
    .where('id', '=', p('id')).where('available', '>=', p('qty'))),
  insertReservation: new Prepared<WmsTables, Omit<WmsTables['wms_reservations'], 'id'>>((db, p) =>
    db.insertInto('wms_reservations').values(p.row(['doc_type', 'doc_id', 'inventory_id', 'qty', 'status', 'created_at']))),
};
const updated = (r: { numAffectedRows?: bigint }): boolean => Number(r.numAffectedRows ?? 0) === 1;

/** SQL for the WMS tables only. Quantity changes are conditional updates, never read-then-write. */
export const wmsStore = {
  warehouseByCode: (db: WmsDb, code: string) => db.selectFrom('wms_warehouses').selectAll().where('code', '=', code).executeTakeFirst(),
  warehouses: (db: WmsDb) => db.selectFrom('wms_warehouses').selectAll().orderBy('code').execute(),
  async insertWarehouse(db: WmsDb, row: WmsTables['wms_warehouses']): Promise<void> {
    await db.insertInto('wms_warehouses').values(row).execute();
  },
  locationByCode: (db: WmsDb, warehouseId: string, code: string) => db.selectFrom('wms_locations').selectAll().where('warehouse_id', '=', warehouseId).where('code', '=', code).executeTakeFirst(),
  locations: (db: WmsDb, warehouseId: string) => db.selectFrom('wms_locations').selectAll().where('warehouse_id', '=', warehouseId).orderBy('code').execute(),
  async insertLocation(db: WmsDb, row: WmsTables['wms_locations']): Promise<void> {
    await db.insertInto('wms_locations').values(row).execute();
  },
  sku: async (db: WmsDb, sku: string): Promise<SkuRow | undefined> => (await q.sku.execute(db, { sku })).rows[0],
  skus: (db: WmsDb) => db.selectFrom('wms_skus').selectAll().orderBy('sku').execute(),
  async insertSku(db: WmsDb, row: SkuRow): Promise<void> {
    await db.insertInto('wms_skus').values(row).execute();
  },

  inventoryRow: (db: WmsDb, sku: string, locationId: string, lot: string) =>
    db.selectFrom('wms_inventory').selectAll().where('sku', '=', sku).where('location_id', '=', locationId).where('lot', '=', lot).executeTakeFirst(),
  async ensureInventoryRow(db: WmsDb, row: { sku: string; location_id: string; warehouse_id: string; lot: string; expires_at: number | null; received_at: number }): Promise<number> {
    const found = await wmsStore.inventoryRow(db, row.sku, row.location_id, row.lot);
    if (found) return found.id;
    const r = await db.insertInto('wms_inventory').values({ ...row, on_hand: 0, reserved: 0, available: 0 }).returning('id').executeTakeFirstOrThrow();
    return r.id;
  },
  /** Adds (or, negative, removes unreserved) on-hand; false when that would take more than is available. */
  async changeOnHand(db: WmsDb, id: number, delta: number): Promise<boolean> {
    const q = db.updateTable('wms_inventory').set((eb) => ({ on_hand: eb('on_hand', '+', delta), available: eb('available', '+', delta) })).where('id', '=', id);
    return changed(await (delta < 0 ? q.where('available', '>=', -delta) : q).executeTakeFirst());
  },
  /** Allocation candidates: FEFO (earliest expiry first) for lot-tracked SKUs, else FIFO by receipt; never expired or quarantined stock. */
  async candidates(db: WmsDb, sku: string, warehouseId: string | undefined, fefo: boolean, now: number): Promise<Candidate[]> {
    return (await q.candidates[(warehouseId ? 2 : 0) + (fefo ? 1 : 0)]!.execute(db, { sku, now, warehouseId: warehouseId ?? '' })).rows;
  },
  /** THE reservation: one conditional update; false when another order took the stock first. */
  async reserve(db: WmsDb, id: number, qty: number): Promise<boolean> {
    return updated(await q.reserve.execute(db, { id, qty }));
  },
  async release(db: WmsDb, id: number, qty: number): Promise<boolean> {
    return changed(await db.updateTable('wms_inventory').set((eb) => ({ reserved: eb('reserved', '-', qty), available: eb('available', '+', qty) }))
      .where('id', '=', id).where('reserved', '>=', qty).executeTakeFirst());
  },
  /** Ships reserved stock: on-hand and reserved both drop. */
  async consume(db: WmsDb, id: number, qty: number): Promise<boolean> {
    return changed(await db.updateTable('wms_inventory').set((eb) => ({ reserved: eb('reserved', '-', qty), on_hand: eb('on_hand', '-', qty) }))
      .where('id', '=', id).where('reserved', '>=', qty).where('on_hand', '>=', qty).executeTakeFirst());
  },
  async holdLot(db: WmsDb, row: WmsTables['wms_lot_holds']): Promise<void> {
    await db.insertInto('wms_lot_holds').values(row).onConflict((oc) => oc.columns(['sku', 'lot']).doUpdateSet({ reason: row.reason, held_by: row.held_by, held_at: row.held_at })).execute();
  },
  async releaseLot(db: WmsDb, sku: string, lot: string): Promise<boolean> {
    return Number((await db.deleteFrom('wms_lot_holds').where('sku', '=', sku).where('lot', '=', lot).executeTakeFirst()).numDeletedRows) === 1;
  },
  lotHolds: (db: WmsDb, sku: string) => db.selectFrom('wms_lot_holds').select(['lot', 'reason']).where('sku', '=', sku).execute(),
  inventoryById: (db: WmsDb, id: number) => db.selectFrom('wms_inventory').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),

  async appendMovement(db: WmsDb, m: MovementInsert): Promise<void> {
    await db.insertInto('wms_movements').values(m).execute();
  },
  async insertReservation(db: WmsDb, row: Omit<WmsTables['wms_reservations'], 'id'>): Promise<void> {
    await q.insertReservation.execute(db, row);
  },
  /** Units of this serial on hand at this bin, from the ledger (1 when it is there). */
  async serialOnHand(db: WmsDb, sku: string, serial: string, locationId: string): Promise<number> {
    const r = await db.selectFrom('wms_movements').select((eb) => eb.fn.sum<number>('qty').as('qty')).where('sku', '=', sku).where('serial', '=', serial).where('location_id', '=', locationId).executeTakeFirst();
    return Number(r?.qty ?? 0);
  },
  /** Whether this serial is already picked for a reservation that has not shipped or been released. */
  async serialPicked(db: WmsDb, sku: string, serial: string): Promise<boolean> {
    const r = await db.selectFrom('wms_pick_serials').innerJoin('wms_reservations', 'wms_reservations.id', 'wms_pick_serials.reservation_id')
      .select('wms_pick_serials.serial').where('wms_pick_serials.sku', '=', sku).where('wms_pick_serials.serial', '=', serial).where('wms_reservations.status', '=', 'held').executeTakeFirst();
    return r !== undefined;
  },
  async insertPickSerials(db: WmsDb, rows: WmsTables['wms_pick_serials'][]): Promise<void> {
    if (rows.length) await db.insertInto('wms_pick_serials').values(rows).execute();
  },
  pickedSerials: async (db: WmsDb, reservationId: number): Promise<string[]> =>
    (await db.selectFrom('wms_pick_serials').select('serial').where('reservation_id', '=', reservationId).orderBy('serial').execute()).map((r) => r.serial),
  reservationsOf: (db: WmsDb, docType: string, docId: string, status?: string, warehouseCode?: string) => {
    let q = db.selectFrom('wms_reservations').innerJoin('wms_inventory', 'wms_inventory.id', 'wms_reservations.inventory_id')
      .innerJoin('wms_locations', 'wms_locations.id', 'wms_inventory.location_id').innerJoin('wms_warehouses', 'wms_warehouses.id', 'wms_inventory.warehouse_id')
      .select(['wms_reservations.id', 'wms_reservations.inventory_id', 'wms_reservations.qty', 'wms_reservations.status', 'wms_inventory.sku', 'wms_inventory.lot', 'wms_inventory.location_id',
        'wms_locations.code as location_code', 'wms_warehouses.code as warehouse_code'])
      .where('wms_reservations.doc_type', '=', docType).where('wms_reservations.doc_id', '=', docId);
    if (status) q = q.where('wms_reservations.status', '=', status);
    if (warehouseCode) q = q.where('wms_warehouses.code', '=', warehouseCode);
    return q.orderBy('wms_reservations.id').execute();
  },
  async setReservationStatus(db: WmsDb, id: number, from: string, to: string): Promise<boolean> {
    return changed(await db.updateTable('wms_reservations').set({ status: to }).where('id', '=', id).where('status', '=', from).executeTakeFirst());
  },

  async insertReceipt(db: WmsDb, row: WmsTables['wms_receipts']): Promise<void> {
    await db.insertInto('wms_receipts').values(row).execute();
  },
  receiptByReference: (db: WmsDb, warehouseId: string, reference: string) => db.selectFrom('wms_receipts').select('id').where('warehouse_id', '=', warehouseId).where('reference', '=', reference).executeTakeFirst(),
  receipt: (db: WmsDb, id: string) => db.selectFrom('wms_receipts').selectAll().where('id', '=', id).executeTakeFirst(),
  async updateReceipt(db: WmsDb, id: string, fromStatus: string, set: { status: string; lines: string; updated_at: number }): Promise<boolean> {
    return changed(await db.updateTable('wms_receipts').set(set).where('id', '=', id).where('status', '=', fromStatus).executeTakeFirst());
  },

  stock(db: WmsDb, sku: string, warehouseId?: string) {
    let q = db.selectFrom('wms_inventory').innerJoin('wms_locations', 'wms_locations.id', 'wms_inventory.location_id').innerJoin('wms_warehouses', 'wms_warehouses.id', 'wms_inventory.warehouse_id')
      .select(['wms_inventory.lot', 'wms_inventory.expires_at', 'wms_inventory.on_hand', 'wms_inventory.reserved', 'wms_inventory.available', 'wms_locations.code as location_code', 'wms_warehouses.code as warehouse_code'])
      .where('wms_inventory.sku', '=', sku).where((eb) => eb.or([eb('wms_inventory.on_hand', '>', 0), eb('wms_inventory.reserved', '>', 0)]));
    if (warehouseId) q = q.where('wms_inventory.warehouse_id', '=', warehouseId);
    return q.orderBy('wms_warehouses.code').orderBy('wms_locations.code').orderBy('wms_inventory.lot').execute();
  },
  trace(db: WmsDb, f: { lot?: string; serial?: string; sku?: string }) {
    let q = db.selectFrom('wms_movements').innerJoin('wms_locations', 'wms_locations.id', 'wms_movements.location_id').innerJoin('wms_warehouses', 'wms_warehouses.id', 'wms_locations.warehouse_id')
      .select(['wms_movements.id', 'wms_movements.at', 'wms_movements.sku', 'wms_movements.lot', 'wms_movements.serial', 'wms_movements.qty', 'wms_movements.kind', 'wms_movements.actor',
        'wms_movements.reason', 'wms_movements.doc_type', 'wms_movements.doc_id', 'wms_locations.code as location_code', 'wms_warehouses.code as warehouse_code']);
    if (f.lot !== undefined) q = q.where('wms_movements.lot', '=', f.lot);
    if (f.serial !== undefined) q = q.where('wms_movements.serial', '=', f.serial);
    if (f.sku !== undefined) q = q.where('wms_movements.sku', '=', f.sku);
    return q.orderBy('wms_movements.id').limit(5000).execute();
  },
  /** Ledger sums per (sku, location, lot) next to the inventory's on-hand, for the balance check. */
  async balance(db: WmsDb) {
    const ledger = await db.selectFrom('wms_movements').select(['sku', 'location_id', 'lot', (eb) => eb.fn.sum<number>('qty').as('qty')]).groupBy(['sku', 'location_id', 'lot']).execute();
    const inv = await db.selectFrom('wms_inventory').select(['sku', 'location_id', 'lot', 'on_hand', 'reserved', 'available']).execute();
    return { ledger, inv };
  },
};
