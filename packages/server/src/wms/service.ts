import { InfraError, newId, topics } from '@infra/core';
import type { Kysely } from 'kysely';
import type { Actor } from '../flows/engine.js';
import { outboxStore, type OutboxDb } from '../outbox/store.js';
import type { ExceptionService, ExceptionDb } from '../exceptions/index.js';
import { wmsStore, type WmsDb, type SkuRow } from './store.js';
import type { AdjustBody, CountBody, QuarantineBody, LocationBody, MoveBody, PutawayBody, ReceiptBody, ReceiptView, SkuBody, SkuView, StockView, TraceQuery, WarehouseBody } from './schema.js';

/** Any module's view of the one fulfillment database (or an open transaction on it). */
type AnyDb = Kysely<any>;

export interface Allocation {
  sku: string;
  warehouse: string;
  location: string;
  lot: string;
  qty: number;
  /** held, released or shipped */
  status: string;
}

interface StoredReceiptLine { sku: string; qty: number; lot?: string; expiresAt?: string; serials?: string[]; location?: string }

const w = (db: AnyDb): WmsDb => db as WmsDb;

/** SKUs found, by code: a SKU row never changes or goes once created, so a hit needs no query (misses always ask) */
const SKU_CACHE_SIZE = 10_000;

/**
 * Warehouses, bins, SKUs and stock. Every on-hand change writes a ledger row in the same transaction;
 * reservations are conditional updates on `available`.
 */
export class WmsService {
  private readonly skuCache = new Map<string, SkuRow>();

  constructor(
    private readonly db: AnyDb,
    private readonly exceptions: ExceptionService,
    private readonly onCommit: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  private async tx<T>(fn: (trx: AnyDb) => Promise<T>): Promise<T> {
    const out = await this.db.transaction().execute(fn);
    this.onCommit();
    return out;
  }

  async createWarehouse(body: WarehouseBody) {
    if (await wmsStore.warehouseByCode(w(this.db), body.code)) throw new InfraError('INFRA_ERR_CONFLICT', `warehouse ${body.code} exists`);
    const id = newId('wh', this.now());
    await wmsStore.insertWarehouse(w(this.db), { id, code: body.code, name: body.name, created_at: this.now() });
    return { id, code: body.code, name: body.name };
  }

  async listWarehouses() {
    return { items: (await wmsStore.warehouses(w(this.db))).map((r) => ({ id: r.id, code: r.code, name: r.name })) };
  }

  private async warehouse(db: AnyDb, code: string) {
    const wh = await wmsStore.warehouseByCode(w(db), code);
    if (!wh) throw new InfraError('INFRA_ERR_NOT_FOUND', `warehouse ${code} not found`);
    return wh;
  }

  async createLocation(body: LocationBody) {
    const wh = await this.warehouse(this.db, body.warehouse);
    const code = `${body.zone}/${body.aisle}/${body.bin}`;
    if (await wmsStore.locationByCode(w(this.db), wh.id, code)) throw new InfraError('INFRA_ERR_CONFLICT', `location ${wh.code}:${code} exists`);
    const id = newId('loc', this.now());
    await wmsStore.insertLocation(w(this.db), { id, warehouse_id: wh.id, code, zone: body.zone, aisle: body.aisle, bin: body.bin, created_at: this.now() });
    return { id, warehouse: wh.code, code, ref: `${wh.code}:${code}`, zone: body.zone, aisle: body.aisle, bin: body.bin };
  }

  async listLocations(warehouse: string) {
    const wh = await this.warehouse(this.db, warehouse);
    return { items: (await wmsStore.locations(w(this.db), wh.id)).map((l) => ({ id: l.id, warehouse: wh.code, code: l.code, ref: `${wh.code}:${l.code}`, zone: l.zone, aisle: l.aisle, bin: l.bin })) };
  }

  /** `WH1:A/01/01` to the location row. */
  private async location(db: AnyDb, ref: string) {
    const [whCode, code] = ref.split(':') as [string, string];
    const wh = await this.warehouse(db, whCode);
    const loc = await wmsStore.locationByCode(w(db), wh.id, code);
    if (!loc) throw new InfraError('INFRA_ERR_NOT_FOUND', `location ${ref} not found`);
    return { ...loc, warehouseCode: wh.code };
  }

  async createSku(body: SkuBody): Promise<SkuView> {
    if (await wmsStore.sku(w(this.db), body.sku)) throw new InfraError('INFRA_ERR_CONFLICT', `SKU ${body.sku} exists`);
    const row = { sku: body.sku, name: body.name, lot_tracked: body.lotTracked ? 1 : 0, serial_tracked: body.serialTracked ? 1 : 0, price: body.price ?? null, currency: body.currency ?? null, created_at: this.now() };
    await wmsStore.insertSku(w(this.db), row);
    return { sku: row.sku, name: row.name, lotTracked: !!row.lot_tracked, serialTracked: !!row.serial_tracked, price: row.price, currency: row.currency };
  }

  async listSkus() {
    return { items: (await wmsStore.skus(w(this.db))).map((r) => ({ sku: r.sku, name: r.name, lotTracked: !!r.lot_tracked, serialTracked: !!r.serial_tracked, price: r.price, currency: r.currency })) };
  }

  private async sku(db: AnyDb, sku: string): Promise<SkuRow> {
    const hit = this.skuCache.get(sku);
    if (hit) return hit;
    const row = await wmsStore.sku(w(db), sku);
    if (!row) throw new InfraError('INFRA_ERR_UNKNOWN_SKU', `unknown SKU ${sku}`);
    if (this.skuCache.size >= SKU_CACHE_SIZE) this.skuCache.delete(this.skuCache.keys().next().value as string);
    this.skuCache.set(sku, row);
    return row;
  }

  /** An ASN: what a supplier announced. Nothing is on hand until it is put away. */
  async createReceipt(body: ReceiptBody): Promise<ReceiptView> {
    const wh = await this.warehouse(this.db, body.warehouse);
    for (const [i, l] of body.lines.entries()) {
      const s = await this.sku(this.db, l.sku);
      if (s.lot_tracked && !l.lot) throw new InfraError('INFRA_ERR_VALIDATION', `line ${i}: SKU ${l.sku} is lot-tracked: lot is required`, { details: [{ path: `body.lines.${i}.lot`, message: 'required for a lot-tracked SKU' }] });
      if (s.serial_tracked && (l.serials?.length ?? 0) !== l.qty) throw new InfraError('INFRA_ERR_VALIDATION', `line ${i}: SKU ${l.sku} is serial-tracked: give one serial per unit`, { details: [{ path: `body.lines.${i}.serials`, message: 'one serial per unit' }] });
    }
    const id = newId('rcp', this.now());
    const lines: StoredReceiptLine[] = body.lines.map((l) => ({ sku: l.sku, qty: l.qty, ...(l.lot ? { lot: l.lot } : {}), ...(l.expiresAt ? { expiresAt: l.expiresAt } : {}), ...(l.serials ? { serials: l.serials } : {}) }));
    await wmsStore.insertReceipt(w(this.db), { id, warehouse_id: wh.id, reference: body.reference ?? null, status: 'expected', lines: JSON.stringify(lines), created_at: this.now(), updated_at: this.now() });
    return { id, warehouse: wh.code, reference: body.reference ?? null, status: 'expected', lines };
  }

  async hasReceipt(warehouse: string, reference: string): Promise<boolean> {
    const wh = await this.warehouse(this.db, warehouse);
    return !!(await wmsStore.receiptByReference(w(this.db), wh.id, reference));
  }

  /**
   * Receives and puts away a whole receipt. Putaway rule for a line without a location: the bin that
   * already holds this SKU (and lot), else the warehouse's first bin.
   */
  async putaway(receiptId: string, body: PutawayBody, actor: Actor): Promise<ReceiptView> {
    return this.tx(async (trx) => {
      const rcp = await wmsStore.receipt(w(trx), receiptId);
      if (!rcp) throw new InfraError('INFRA_ERR_NOT_FOUND', `receipt ${receiptId} not found`);
      if (rcp.status !== 'expected') throw new InfraError('INFRA_ERR_CONFLICT', `receipt ${receiptId} is already put away`);
      const lines = JSON.parse(rcp.lines) as StoredReceiptLine[];
      const wh = (await wmsStore.warehouses(w(trx))).find((x) => x.id === rcp.warehouse_id)!;
      const chosen = new Map((body.lines ?? []).map((l) => [l.line, l.location]));
      for (const [i, l] of lines.entries()) {
        let loc: { id: string; code: string; warehouse_id: string };
        const ref = chosen.get(i);
        if (ref) {
          loc = await this.location(trx, ref);
          if (loc.warehouse_id !== rcp.warehouse_id) throw new InfraError('INFRA_ERR_VALIDATION', `line ${i}: ${ref} is not in warehouse ${wh.code}`);
        } else {
          const held = (await wmsStore.stock(w(trx), l.sku, rcp.warehouse_id)).find((s) => s.lot === (l.lot ?? ''));
          const bins = await wmsStore.locations(w(trx), rcp.warehouse_id);
          const pick = held ? bins.find((b) => b.code === held.location_code) : bins[0];
          if (!pick) throw new InfraError('INFRA_ERR_VALIDATION', `warehouse ${wh.code} has no bins: create a location first`);
          loc = pick;
        }
        await this.addStock(trx, { sku: l.sku, locationId: loc.id, warehouseId: rcp.warehouse_id, lot: l.lot ?? '', expiresAt: l.expiresAt ? Date.parse(l.expiresAt) : null, qty: l.qty, serials: l.serials, kind: 'receipt', actor, reason: rcp.reference, doc: { type: 'receipt', id: rcp.id } });
        l.location = `${wh.code}:${loc.code}`;
      }
      await wmsStore.updateReceipt(w(trx), receiptId, 'expected', { status: 'put_away', lines: JSON.stringify(lines), updated_at: this.now() });
      return { id: rcp.id, warehouse: wh.code, reference: rcp.reference, status: 'put_away' as const, lines };
    });
  }

  private async addStock(trx: AnyDb, m: { sku: string; locationId: string; warehouseId: string; lot: string; expiresAt: number | null; qty: number; serials?: string[] | undefined; kind: string; actor: Actor; reason: string | null; doc: { type: string; id: string } | null }): Promise<void> {
    const now = this.now();
    const invId = await wmsStore.ensureInventoryRow(w(trx), { sku: m.sku, location_id: m.locationId, warehouse_id: m.warehouseId, lot: m.lot, expires_at: m.expiresAt, received_at: now });
    if (!(await wmsStore.changeOnHand(w(trx), invId, m.qty))) {
      throw new InfraError('INFRA_ERR_OUT_OF_STOCK', `not enough available ${m.sku}${m.lot ? ` lot ${m.lot}` : ''} at that location to remove ${-m.qty}`);
    }
    const base = { at: now, sku: m.sku, location_id: m.locationId, lot: m.lot, kind: m.kind, actor: m.actor.id, reason: m.reason, doc_type: m.doc?.type ?? null, doc_id: m.doc?.id ?? null };
    if (m.serials && m.serials.length === Math.abs(m.qty)) {
      for (const serial of m.serials) await wmsStore.appendMovement(w(trx), { ...base, serial, qty: Math.sign(m.qty) });
    } else {
      await wmsStore.appendMovement(w(trx), { ...base, serial: null, qty: m.qty });
    }
    await outboxStore.append(trx as OutboxDb, `sku:${m.sku}`, topics.wmsStock(m.sku), { type: 'wms.movement', sku: m.sku, kind: m.kind, qty: m.qty, lot: m.lot || null, at: new Date(now).toISOString() }, now);
  }

  async adjust(body: AdjustBody, actor: Actor): Promise<{ ok: boolean }> {
    await this.tx(async (trx) => {
      await this.sku(trx, body.sku);
      const loc = await this.location(trx, body.location);
      await this.addStock(trx, { sku: body.sku, locationId: loc.id, warehouseId: loc.warehouse_id, lot: body.lot ?? '', expiresAt: null, qty: body.qty, kind: 'adjust', actor, reason: body.reason, doc: null });
    });
    return { ok: true };
  }

  /** A cycle count: the variance becomes an adjustment row and, when not zero, a stock_discrepancy exception. */
  async count(body: CountBody, actor: Actor) {
    return this.tx(async (trx) => {
      await this.sku(trx, body.sku);
      const loc = await this.location(trx, body.location);
      const lot = body.lot ?? '';
      const row = await wmsStore.inventoryRow(w(trx), body.sku, loc.id, lot);
      const expected = row?.on_hand ?? 0;
      const variance = body.counted - expected;
      let exception: string | null = null;
      if (variance !== 0) {
        await this.addStock(trx, { sku: body.sku, locationId: loc.id, warehouseId: loc.warehouse_id, lot, expiresAt: null, qty: variance, kind: 'count', actor, reason: `cycle count: counted ${body.counted}, expected ${expected}`, doc: null });
        exception = await this.exceptions.raise({ type: 'stock_discrepancy', severity: 'medium', entityType: 'location', entityId: `${body.location}#${body.sku}${lot ? `#${lot}` : ''}`, detail: `counted ${body.counted}, expected ${expected}` }, trx as ExceptionDb);
      }
      return { sku: body.sku, location: body.location, lot, expected, counted: body.counted, variance, exception };
    });
  }

  async move(body: MoveBody, actor: Actor): Promise<{ ok: boolean }> {
    await this.tx(async (trx) => {
      await this.sku(trx, body.sku);
      const from = await this.location(trx, body.from);
      const to = await this.location(trx, body.to);
      const lot = body.lot ?? '';
      const src = await wmsStore.inventoryRow(w(trx), body.sku, from.id, lot);
      const doc = { type: 'move', id: newId('mov', this.now()) };
      await this.addStock(trx, { sku: body.sku, locationId: from.id, warehouseId: from.warehouse_id, lot, expiresAt: null, qty: -body.qty, kind: 'move_out', actor, reason: null, doc });
      await this.addStock(trx, { sku: body.sku, locationId: to.id, warehouseId: to.warehouse_id, lot, expiresAt: src?.expires_at ?? null, qty: body.qty, kind: 'move_in', actor, reason: null, doc });
    });
    return { ok: true };
  }

  /**
   * Reserves every line for a document inside the caller's transaction: FEFO for lot-tracked SKUs,
   * else FIFO, each row by one conditional update. Throws OUT_OF_STOCK (the caller rolls back).
   */
  async reserve(trx: AnyDb, docType: string, docId: string, lines: { sku: string; qty: number }[], warehouse?: string): Promise<Allocation[]> {
    const whId = warehouse ? (await this.warehouse(trx, warehouse)).id : undefined;
    const now = this.now();
    const out: Allocation[] = [];
    for (const line of lines) {
      const s = await this.sku(trx, line.sku);
      let left = line.qty;
      for (const c of await wmsStore.candidates(w(trx), line.sku, whId, !!s.lot_tracked, now)) {
        if (left === 0) break;
        const take = Math.min(left, c.available);
        if (await wmsStore.reserve(w(trx), c.id, take)) {
          await wmsStore.insertReservation(w(trx), { doc_type: docType, doc_id: docId, inventory_id: c.id, qty: take, status: 'held', created_at: now });
          out.push({ sku: line.sku, warehouse: c.warehouse_code, location: `${c.warehouse_code}:${c.location_code}`, lot: c.lot, qty: take, status: 'held' });
          left -= take;
        }
      }
      if (left > 0) {
        const err = new InfraError('INFRA_ERR_OUT_OF_STOCK', `not enough ${line.sku}: ${line.qty - left} of ${line.qty} available`);
        (err as InfraError & { problemExtra?: unknown }).problemExtra = { sku: line.sku };
        throw err;
      }
    }
    return out;
  }

  async allocations(db: AnyDb, docType: string, docId: string): Promise<Allocation[]> {
    return (await wmsStore.reservationsOf(w(db), docType, docId)).map((r) => ({ sku: r.sku, warehouse: r.warehouse_code, location: `${r.warehouse_code}:${r.location_code}`, lot: r.lot, qty: r.qty, status: r.status }));
  }

  /** Gives held stock back (cancel). */
  async release(trx: AnyDb, docType: string, docId: string): Promise<void> {
    for (const r of await wmsStore.reservationsOf(w(trx), docType, docId, 'held')) {
      if (!(await wmsStore.setReservationStatus(w(trx), r.id, 'held', 'released'))) continue;
      if (!(await wmsStore.release(w(trx), r.inventory_id, r.qty))) throw new InfraError('INFRA_ERR_CONFLICT', `reservation ${r.id} does not match the inventory`);
    }
  }

  /**
   * Ships held stock (of one warehouse, or all): on-hand drops with a ledger row per reservation, or per serial for a
   * serial-tracked SKU, whose serials must have been scanned at pick (409 otherwise: nothing ships).
   */
  async ship(trx: AnyDb, docType: string, docId: string, actor: Actor, warehouseCode?: string): Promise<number> {
    const now = this.now();
    let shipped = 0;
    for (const r of await wmsStore.reservationsOf(w(trx), docType, docId, 'held', warehouseCode)) {
      const s = await this.sku(trx, r.sku);
      const serials = s.serial_tracked ? await wmsStore.pickedSerials(w(trx), r.id) : [];
      if (s.serial_tracked && serials.length !== r.qty) {
        throw new InfraError('INFRA_ERR_CONFLICT', `${r.sku} is serial-tracked: ${r.qty - serials.length} of ${r.qty} units at ${r.warehouse_code}:${r.location_code} were not scanned with their serial at pick`);
      }
      if (!(await wmsStore.setReservationStatus(w(trx), r.id, 'held', 'shipped'))) continue;
      if (!(await wmsStore.consume(w(trx), r.inventory_id, r.qty))) throw new InfraError('INFRA_ERR_CONFLICT', `reservation ${r.id} does not match the inventory`);
      const base = { at: now, sku: r.sku, location_id: r.location_id, lot: r.lot, kind: 'ship', actor: actor.id, reason: null, doc_type: docType, doc_id: docId };
      if (serials.length) for (const serial of serials) await wmsStore.appendMovement(w(trx), { ...base, serial, qty: -1 });
      else await wmsStore.appendMovement(w(trx), { ...base, serial: null, qty: -r.qty });
      shipped++;
    }
    return shipped;
  }

  /** Quarantine (or release) a lot: it stays on hand, but is never allocated while held. */
  async quarantine(body: QuarantineBody, actor: Actor): Promise<{ sku: string; lot: string; quarantined: boolean }> {
    await this.sku(this.db, body.sku);
    if (body.quarantined) {
      await wmsStore.holdLot(w(this.db), { sku: body.sku, lot: body.lot, reason: body.reason ?? 'quarantine', held_by: actor.id, held_at: this.now() });
    } else if (!(await wmsStore.releaseLot(w(this.db), body.sku, body.lot))) {
      throw new InfraError('INFRA_ERR_NOT_FOUND', `lot ${body.lot} of ${body.sku} is not quarantined`);
    }
    return { sku: body.sku, lot: body.lot, quarantined: body.quarantined };
  }

  async stock(sku: string, warehouse?: string): Promise<StockView> {
    await this.sku(this.db, sku);
    const whId = warehouse ? (await this.warehouse(this.db, warehouse)).id : undefined;
    const rows = await wmsStore.stock(w(this.db), sku, whId);
    const total = { onHand: 0, reserved: 0, available: 0 };
    const lots = new Map<string, { lot: string; onHand: number; reserved: number; available: number }>();
    const byLocation = rows.map((r) => {
      total.onHand += r.on_hand; total.reserved += r.reserved; total.available += r.available;
      const l = lots.get(r.lot) ?? { lot: r.lot, onHand: 0, reserved: 0, available: 0 };
      l.onHand += r.on_hand; l.reserved += r.reserved; l.available += r.available;
      lots.set(r.lot, l);
      return { warehouse: r.warehouse_code, location: `${r.warehouse_code}:${r.location_code}`, lot: r.lot, expiresAt: r.expires_at === null ? null : new Date(r.expires_at).toISOString(), onHand: r.on_hand, reserved: r.reserved, available: r.available };
    });
    return { sku, ...total, byLocation, byLot: [...lots.values()] };
  }

  async trace(q: TraceQuery) {
    const rows = await wmsStore.trace(w(this.db), q);
    return {
      movements: rows.map((r) => ({
        id: r.id, at: new Date(r.at).toISOString(), sku: r.sku, warehouse: r.warehouse_code, location: `${r.warehouse_code}:${r.location_code}`, lot: r.lot, serial: r.serial,
        qty: r.qty, kind: r.kind, actor: r.actor, reason: r.reason, document: r.doc_type && r.doc_id ? { type: r.doc_type, id: r.doc_id } : null,
      })),
    };
  }

  /** Every (sku, location, lot) whose on-hand differs from its ledger sum (empty = the books balance). */
  async imbalances(): Promise<{ sku: string; locationId: string; lot: string; onHand: number; ledger: number }[]> {
    const { ledger, inv } = await wmsStore.balance(w(this.db));
    const sums = new Map(ledger.map((l) => [`${l.sku}|${l.location_id}|${l.lot}`, Number(l.qty)]));
    const out = [];
    for (const i of inv) {
      const key = `${i.sku}|${i.location_id}|${i.lot}`;
      const sum = sums.get(key) ?? 0;
      sums.delete(key);
      if (sum !== i.on_hand || i.available !== i.on_hand - i.reserved) out.push({ sku: i.sku, locationId: i.location_id, lot: i.lot, onHand: i.on_hand, ledger: sum });
    }
    for (const [key, sum] of sums) if (sum !== 0) { const [sku, locationId, lot] = key.split('|') as [string, string, string]; out.push({ sku, locationId, lot, onHand: 0, ledger: sum }); }
    return out;
  }
}
