import { createHash } from 'node:crypto';
import { GroupCommit, InfraError, newId, topics } from '@infra/core';
import type { TopicGrant } from '@infra/core/topics';
import type { Kysely } from 'kysely';
import { IllegalTransitionError, type Actor, type FlowEngine } from '../flows/engine.js';
import type { FlowDb } from '../flows/store.js';
import { outboxStore, type OutboxDb } from '../outbox/store.js';
import type { ExceptionService } from '../exceptions/index.js';
import type { Allocation, WmsService } from '../wms/index.js';
import { orderStore, type OrderDb, type OrderRow } from './store.js';
import { manualPayments, type PaymentProvider } from './payments.js';
import type { CreateOrderBody, ListOrdersQuery, OrderEventBody, OrderView } from './schema.js';

type AnyDb = Kysely<any>;
const o = (db: AnyDb): OrderDb => db as OrderDb;
const FLOW = 'order';
const iso = (ms: number): string => new Date(ms).toISOString();
/** who fires an order's `deliver` when its delivery completes: the delivery module, as a backend */
const COURIER: Actor = { id: 'delivery', role: 'service' };

export interface CreateResult {
  order: OrderView;
  /** true when an Idempotency-Key matched an earlier request and nothing was written */
  replayed: boolean;
}

/** Stable JSON (sorted keys) so the same body always hashes the same. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/**
 * Orders: creation with server-side totals, stock reservation and idempotency in one transaction;
 * every status change goes through the flow engine and writes an outbox event in the same transaction.
 */
export class OrderService {
  private readonly providers = new Map<string, PaymentProvider>([[manualPayments.name, manualPayments]]);
  /** order writes arriving together share one commit (each still resolves only once it is durable) */
  private readonly writes: GroupCommit<any>;

  constructor(
    private readonly db: AnyDb,
    private readonly flows: FlowEngine,
    private readonly wms: WmsService,
    private readonly exceptions: ExceptionService,
    private readonly onCommit: () => void,
    private readonly defaultCurrency = 'EUR',
    private readonly now: () => number = Date.now,
    writes?: GroupCommit<any>,
  ) {
    this.writes = writes ?? new GroupCommit(db);
  }

  async create(body: CreateOrderBody, actor: Actor, idempotencyKey?: string): Promise<CreateResult> {
    let customer = body.customer;
    if (actor.role === 'user') {
      if (customer && customer !== actor.id) throw new InfraError('INFRA_ERR_FORBIDDEN', 'a customer token may only create orders for itself');
      customer = actor.id;
    } else if (!customer) {
      throw new InfraError('INFRA_ERR_VALIDATION', 'customer is required with a staff token', { details: [{ path: 'body.customer', message: 'required' }] });
    }
    const hash = idempotencyKey ? createHash('sha256').update(canonical(body)).digest('base64url') : '';
    try {
      const result = await this.writes.run(async (trx) => {
        if (idempotencyKey) {
          const seen = await orderStore.idempotency(o(trx), actor.id, idempotencyKey);
          if (seen) {
            if (seen.request_hash !== hash) throw new InfraError('INFRA_ERR_IDEMPOTENCY_MISMATCH', `Idempotency-Key ${idempotencyKey} was used with a different body`);
            return { order: JSON.parse(seen.response) as OrderView, replayed: true };
          }
        }
        const now = this.now();
        const id = newId('ord', now);
        const lines = body.lines.map((l, i) => ({ order_id: id, line_no: i + 1, sku: l.sku, qty: l.qty, unit_price: l.unitPrice, line_total: l.qty * l.unitPrice }));
        const subtotal = lines.reduce((s, l) => s + l.line_total, 0);
        const status = this.flows.definition(FLOW).initial;
        const row: OrderRow = { id, customer_id: customer!, status, currency: body.currency ?? this.defaultCurrency, subtotal, total: subtotal, address: JSON.stringify(body.address), warehouse: body.warehouse ?? null, created_by: actor.id, created_at: now, updated_at: now };
        await orderStore.insertOrder(o(trx), row, lines);
        await this.flows.start(trx as FlowDb, FLOW, id, actor, now);
        const allocations = await this.wms.reserve(trx, 'order', id, body.lines.map((l) => ({ sku: l.sku, qty: l.qty })), body.warehouse);
        const shipments = [...new Set(allocations.map((a) => a.warehouse))].map((wh) => ({ id: newId('shp', now), order_id: id, warehouse: wh, status: 'pending', carrier: null, tracking_number: null, updated_at: now, kind: 'original', reason: null }));
        await orderStore.insertShipments(o(trx), shipments);
        // the customer may follow this order on MQTT: the grant is relayed before the order's first event
        const grant: TopicGrant = { op: 'grant', user: row.customer_id, topic: topics.order(id) };
        await outboxStore.append(trx as OutboxDb, id, topics.aclGrants, grant, now);
        await outboxStore.append(trx as OutboxDb, id, topics.order(id), { type: 'order.created', orderId: id, status, total: subtotal, currency: row.currency, at: iso(now) }, now);
        const order = this.view(row, lines, allocations, shipments, [], [{ from: null, to: status, event: 'create', actor: actor.id, actorRole: actor.role, at: now, reason: null }], actor);
        if (idempotencyKey) await orderStore.saveIdempotency(o(trx), { actor: actor.id, key: idempotencyKey, request_hash: hash, order_id: id, response: JSON.stringify(order), created_at: now });
        return { order, replayed: false };
      });
      if (!result.replayed) this.onCommit();
      return result;
    } catch (err) {
      if (err instanceof InfraError && err.code === 'INFRA_ERR_OUT_OF_STOCK') {
        const sku = (err as InfraError & { problemExtra?: { sku?: string } }).problemExtra?.sku ?? 'unknown';
        await this.exceptions.raise({ type: 'allocation_failed', severity: 'high', entityType: 'sku', entityId: sku, detail: err.message }).catch(() => undefined);
      }
      throw err;
    }
  }

  private view(
    r: OrderRow,
    lines: { sku: string; qty: number; unit_price: number; line_total: number }[],
    allocations: Allocation[],
    shipments: { id: string; warehouse: string; status: string; carrier: string | null; tracking_number: string | null; kind: string }[],
    payments: { id: string; provider: string; amount: number; currency: string; status: string; reference: string; created_at: number }[],
    history: { from: string | null; to: string; event: string; actor: string; actorRole: string; at: number; reason: string | null }[],
    actor: Actor,
  ): OrderView {
    return {
      id: r.id, customer: r.customer_id, status: r.status, currency: r.currency, subtotal: Number(r.subtotal), total: Number(r.total), createdAt: iso(r.created_at), updatedAt: iso(r.updated_at),
      address: JSON.parse(r.address) as OrderView['address'], warehouse: r.warehouse,
      lines: lines.map((l) => ({ sku: l.sku, qty: l.qty, unitPrice: Number(l.unit_price), lineTotal: Number(l.line_total) })),
      allocations,
      shipments: shipments.map((s) => ({ id: s.id, warehouse: s.warehouse, kind: s.kind as 'original' | 'reship', status: s.status, carrier: s.carrier, trackingNumber: s.tracking_number })),
      payments: payments.map((p) => ({ id: p.id, provider: p.provider, amount: Number(p.amount), currency: p.currency, status: p.status, reference: p.reference, at: iso(p.created_at) })),
      history: history.map((h) => ({ ...h, at: iso(h.at) })),
      allowedEvents: this.flows.allowedEvents(FLOW, r.status, actor.role),
    };
  }

  /** A customer sees only their own orders: anyone else's is a 404, not a 403 (no existence leak). */
  private async load(db: AnyDb, id: string, actor: Actor): Promise<OrderRow> {
    const r = await orderStore.order(o(db), id);
    if (!r || (actor.role === 'user' && r.customer_id !== actor.id)) throw new InfraError('INFRA_ERR_NOT_FOUND', `order ${id} not found`);
    return r;
  }

  async get(id: string, actor: Actor, db: AnyDb = this.db): Promise<OrderView> {
    const r = await this.load(db, id, actor);
    const [lines, allocations, shipments, payments, history] = await Promise.all([
      orderStore.lines(o(db), id), this.wms.allocations(db, 'order', id), orderStore.shipments(o(db), id), orderStore.payments(o(db), id), this.flows.history(db as FlowDb, FLOW, id),
    ]);
    return this.view(r, lines, allocations, shipments, payments, history, actor);
  }

  async list(q: ListOrdersQuery, actor: Actor): Promise<{ items: ReturnType<OrderService['summary']>[]; nextCursor: string | null }> {
    const limit = q.limit ?? 50;
    const customer = actor.role === 'user' ? actor.id : q.customer;
    const rows = await orderStore.list(o(this.db), { ...(q.status ? { status: q.status } : {}), ...(customer ? { customer } : {}), ...(q.cursor ? { cursor: q.cursor } : {}), limit });
    return { items: rows.map((r) => this.summary(r)), nextCursor: rows.length === limit ? rows[rows.length - 1]!.id : null };
  }

  summary(r: OrderRow) {
    return { id: r.id, customer: r.customer_id, status: r.status, currency: r.currency, subtotal: Number(r.subtotal), total: Number(r.total), createdAt: iso(r.created_at), updatedAt: iso(r.updated_at) };
  }

  /** Fires a flow event and runs its actions, all in one transaction with the outbox row. */
  async fire(id: string, body: OrderEventBody, actor: Actor): Promise<OrderView> {
    return this.write(async (trx) => {
      await this.fireIn(trx, await this.load(trx, id, actor), body, actor);
      return this.get(id, actor, trx);
    });
  }

  private async fireIn(trx: AnyDb, r: OrderRow, body: OrderEventBody, actor: Actor): Promise<void> {
    const id = r.id;
    const now = this.now();
    const fired = await this.flows.fire(trx as FlowDb, FLOW, id, body.event, actor, now, {
      ...(body.reason ? { reason: body.reason } : {}),
      guard: async (name) => name === 'payment_recorded' ? (await orderStore.payments(o(trx), id)).some((p) => p.status === 'captured') : false,
    });
    for (const action of fired.transition.actions) {
      if (action === 'release_stock') await this.wms.release(trx, 'order', id);
      else if (action === 'ship_stock') {
        // whatever was not shipped shipment by shipment leaves now
        await this.wms.ship(trx, 'order', id, actor);
        await orderStore.updateShipments(o(trx), id, 'pending', { status: 'shipped', updated_at: now, ...(body.shipping ? { carrier: body.shipping.carrier, tracking_number: body.shipping.trackingNumber } : {}) });
      } else if (action === 'record_payment') {
        const providerName = body.payment?.provider ?? 'manual';
        const provider = this.providers.get(providerName);
        if (!provider) throw new InfraError('INFRA_ERR_VALIDATION', `unknown payment provider ${providerName} (known: ${[...this.providers.keys()].join(', ')})`, { details: [{ path: 'body.payment.provider', message: 'unknown provider' }] });
        const captured = await provider.capture({ orderId: id, amount: Number(r.total), currency: r.currency, reference: body.payment?.reference });
        await orderStore.insertPayment(o(trx), { id: newId('pay', now), order_id: id, provider: provider.name, amount: Number(r.total), currency: r.currency, status: captured.status, reference: captured.reference, created_at: now });
      }
    }
    if (fired.to === 'delivered') await orderStore.updateShipments(o(trx), id, 'shipped', { status: 'delivered', updated_at: now });
    await orderStore.setStatus(o(trx), id, fired.to, now);
    await outboxStore.append(trx as OutboxDb, id, topics.order(id), { type: 'order.status', orderId: id, from: fired.from, to: fired.to, event: body.event, at: iso(now) }, now);
  }

  /**
   * Ships one shipment (its warehouse's held stock) with its carrier and tracking number. An original shipment ships
   * while the order may fire `ship`; when the last one has shipped, the order fires `ship` itself. A reship ships on
   * its own, the order's status staying where it is.
   */
  async shipShipment(id: string, shipmentId: string, shipping: { carrier: string; trackingNumber: string }, actor: Actor): Promise<OrderView> {
    return this.write(async (trx) => {
      const r = await this.load(trx, id, actor);
      const s = await this.shipmentOf(trx, r, shipmentId, 'pending');
      const shipNow = this.flows.allowedEvents(FLOW, r.status, actor.role).includes('ship');
      if (s.kind === 'original' && !shipNow) throw this.illegal(r, actor);
      const now = this.now();
      await this.wms.ship(trx, 'order', id, actor, s.warehouse);
      if (!(await orderStore.moveShipment(o(trx), s.id, 'pending', { status: 'shipped', carrier: shipping.carrier, tracking_number: shipping.trackingNumber, updated_at: now }))) throw new InfraError('INFRA_ERR_CONFLICT', `shipment ${shipmentId} is not pending`);
      await outboxStore.append(trx as OutboxDb, id, topics.order(id), { type: 'order.shipment', orderId: id, shipmentId: s.id, warehouse: s.warehouse, kind: s.kind, status: 'shipped', carrier: shipping.carrier, trackingNumber: shipping.trackingNumber, at: iso(now) }, now);
      const left = (await orderStore.shipments(o(trx), id)).filter((x) => x.kind === 'original' && x.status === 'pending');
      if (s.kind === 'original' && left.length === 0) await this.fireIn(trx, r, { event: 'ship', reason: `all ${r.id} shipments shipped` }, actor);
      return this.get(id, actor, trx);
    });
  }

  /** Marks one shipped shipment delivered; when every shipment has arrived, the order fires `deliver` if it may. */
  async deliverShipment(id: string, shipmentId: string, actor: Actor): Promise<OrderView> {
    return this.write(async (trx) => {
      const r = await this.load(trx, id, actor);
      const s = await this.shipmentOf(trx, r, shipmentId, 'shipped');
      const now = this.now();
      if (!(await orderStore.moveShipment(o(trx), s.id, 'shipped', { status: 'delivered', updated_at: now }))) throw new InfraError('INFRA_ERR_CONFLICT', `shipment ${shipmentId} is not shipped`);
      await outboxStore.append(trx as OutboxDb, id, topics.order(id), { type: 'order.shipment', orderId: id, shipmentId: s.id, warehouse: s.warehouse, kind: s.kind, status: 'delivered', at: iso(now) }, now);
      const open = (await orderStore.shipments(o(trx), id)).filter((x) => x.status !== 'delivered');
      if (open.length === 0 && this.flows.allowedEvents(FLOW, r.status, actor.role).includes('deliver')) await this.fireIn(trx, r, { event: 'deliver', reason: 'every shipment delivered' }, actor);
      return this.get(id, actor, trx);
    });
  }

  /**
   * The order's delivery (a rider's job) was completed, in the delivery's own transaction: the order fires `deliver`
   * when its flow allows it now (true), else nothing changes (false: no such order, or a flow without that step now).
   */
  async deliveredByCourier(trx: AnyDb, id: string, reason: string): Promise<boolean> {
    const r = await orderStore.order(o(trx), id);
    if (!r || !this.flows.allowedEvents(FLOW, r.status, COURIER.role).includes('deliver')) return false;
    await this.fireIn(trx, r, { event: 'deliver', reason }, COURIER);
    return true;
  }

  /**
   * Sends the order again (a parcel lost or damaged): the order's lines are reserved anew (FEFO/FIFO, the order's
   * warehouse if it had one) and become `reship` shipments, picked, packed and shipped like any other. Only once
   * something has shipped and nothing waits to ship; 409 INFRA_ERR_OUT_OF_STOCK when the stock is not there, and
   * nothing is written.
   */
  async reship(id: string, reason: string, actor: Actor): Promise<OrderView> {
    return this.write(async (trx) => {
      const r = await this.load(trx, id, actor);
      const all = await orderStore.shipments(o(trx), id);
      if (!all.some((x) => x.status === 'shipped' || x.status === 'delivered')) throw new InfraError('INFRA_ERR_CONFLICT', `order ${id} has not shipped yet: nothing to send again`);
      // a pending shipment still holds its stock under this order: a reship beside it could ship with it
      if (all.some((x) => x.status === 'pending')) throw new InfraError('INFRA_ERR_CONFLICT', `order ${id} still has a shipment waiting to ship: ship it (or resolve it) before sending the order again`);
      const now = this.now();
      const lines = await orderStore.lines(o(trx), id);
      const allocations = await this.wms.reserve(trx, 'order', id, lines.map((l) => ({ sku: l.sku, qty: l.qty })), r.warehouse ?? undefined);
      const shipments = [...new Set(allocations.map((a) => a.warehouse))].map((wh) => ({ id: newId('shp', now), order_id: id, warehouse: wh, status: 'pending', carrier: null, tracking_number: null, updated_at: now, kind: 'reship', reason }));
      await orderStore.insertShipments(o(trx), shipments);
      await outboxStore.append(trx as OutboxDb, id, topics.order(id), { type: 'order.reshipped', orderId: id, shipments: shipments.map((x) => ({ id: x.id, warehouse: x.warehouse })), reason, at: iso(now) }, now);
      return this.get(id, actor, trx);
    });
  }

  private async shipmentOf(trx: AnyDb, r: OrderRow, shipmentId: string, status: string) {
    const s = await orderStore.shipment(o(trx), r.id, shipmentId);
    if (!s) throw new InfraError('INFRA_ERR_NOT_FOUND', `shipment ${shipmentId} of order ${r.id} not found`);
    if (s.status !== status) throw new InfraError('INFRA_ERR_CONFLICT', `shipment ${shipmentId} is ${s.status}, not ${status}`);
    return s;
  }

  private illegal(r: OrderRow, actor: Actor): IllegalTransitionError {
    return new IllegalTransitionError(FLOW, r.id, 'ship', r.status, this.flows.allowedEvents(FLOW, r.status, actor.role));
  }

  /**
   * Refunds what was captured for the order and not yet refunded, through the provider that captured it, in one
   * transaction with an `order.refunded` event. Nothing captured, or all of it refunded already, is a 409.
   */
  async refund(id: string, reason: string, actor: Actor): Promise<OrderView> {
    return this.write(async (trx) => {
      const r = await this.load(trx, id, actor);
      const now = this.now();
      const payments = await orderStore.payments(o(trx), id);
      let refunded = 0;
      for (const p of payments) if (p.status === 'refunded') refunded += Number(p.amount);
      const byProvider = new Map<string, number>();
      for (const p of payments) if (p.status === 'captured') byProvider.set(p.provider, (byProvider.get(p.provider) ?? 0) + Number(p.amount));
      const captured = [...byProvider.values()].reduce((a, b) => a + b, 0);
      if (captured - refunded <= 0) throw new InfraError('INFRA_ERR_CONFLICT', captured === 0 ? `order ${id} has no captured payment to refund` : `order ${id} is refunded already`);
      let left = captured - refunded;
      for (const [name, amount] of byProvider) {
        const provider = this.providers.get(name);
        if (!provider) throw new InfraError('INFRA_ERR_INTERNAL', `payment provider ${name} of order ${id} is not configured`);
        const part = Math.min(amount, left);
        if (part <= 0) continue;
        const done = await provider.refund({ orderId: id, amount: part, currency: r.currency, reason });
        if (done.status !== 'refunded') throw new InfraError('INFRA_ERR_CONFLICT', `payment provider ${name} refused the refund of order ${id}`);
        await orderStore.insertPayment(o(trx), { id: newId('pay', now), order_id: id, provider: name, amount: part, currency: r.currency, status: 'refunded', reference: done.reference, created_at: now });
        left -= part;
      }
      await outboxStore.append(trx as OutboxDb, id, topics.order(id), { type: 'order.refunded', orderId: id, amount: captured - refunded, currency: r.currency, reason, at: iso(now) }, now);
      return this.get(id, actor, trx);
    });
  }

  /** One write (grouped with others arriving together), then the outbox relay is told there is something to publish. */
  private async write<T>(work: (trx: AnyDb) => Promise<T>): Promise<T> {
    const value = await this.writes.run(work);
    this.onCommit();
    return value;
  }

  /** Mirrors a flow timeout onto the order (the flow engine raised it; this adds the order's own event). */
  async timeoutEvent(trx: AnyDb, id: string, state: string, raise: string, now: number): Promise<void> {
    await outboxStore.append(trx as OutboxDb, id, topics.order(id), { type: 'order.timeout', orderId: id, status: state, exception: raise, at: iso(now) }, now);
  }
}
