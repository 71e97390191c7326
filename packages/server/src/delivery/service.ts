import { randomInt } from 'node:crypto';
import { InfraError, newId, topics, type InfraConfig, type Logger, type TopicGrant } from '@infra/core';
import type { Kysely } from 'kysely';
import type { Actor, FlowEngine } from '../flows/engine.js';
import type { FlowDb } from '../flows/store.js';
import { outboxStore, type OutboxDb } from '../outbox/store.js';
import type { ExceptionDb, ExceptionService } from '../exceptions/index.js';
import type { AssignmentHook, DispatchService, JobRow } from '../dispatch/index.js';
import type { FenceEvent, Geofences, RiderService } from '../riders/index.js';
import { EtaService } from './eta.js';
import { deliveryStore, type DeliveryDb, type DeliveryRow } from './store.js';
import type { DeliveryEventBody, DeliveryQuery, DeliveryView } from './schema.js';

type AnyDb = Kysely<any>;
const dd = (db: AnyDb): DeliveryDb => db as unknown as DeliveryDb;
const ob = (db: AnyDb): OutboxDb => db as unknown as OutboxDb;
const iso = (ms: number): string => new Date(ms).toISOString();
const FLOW = 'delivery';
/** Who reads a delivery: merchant staff carry their merchant id. */
type Viewer = Actor & { merchant?: string };
/** Geofences act as the system. */
const SYSTEM: Actor = { id: 'geofence', role: 'service' };
/** Events that end a delivery as failed raise an exception of type delivery_<event>. */
const FAILURE_STATES = new Set(['failed']);
/** After this many wrong one-time codes a delivery takes no more codes (a rider cannot guess the 10^6 of them). */
export const MAX_CODE_FAILURES = 5;

/**
 * Deliveries: started by dispatch (in the assignment's transaction), moved by the rider and by geofences
 * around the pickup and the drop-off, finished with proof or failed into the exception center. Every change
 * is a flow transition plus an outbox event on orders/{orderId}; the customer may follow the rider's
 * fleet/{riderId}/loc while the delivery runs (a broker grant, revoked when it ends).
 */
export class DeliveryService {
  private readonly fences = new Map<string, (() => void)[]>();
  /** run inside the transaction that marks a delivery delivered (the orders module fires the order's `deliver`) */
  private deliveredHooks: ((trx: AnyDb, orderId: string, reason: string) => Promise<unknown>)[] = [];
  private readonly queues = new Map<string, Promise<unknown>>();
  readonly eta: EtaService;

  constructor(
    private readonly db: AnyDb,
    private readonly flows: FlowEngine,
    private readonly exceptions: ExceptionService,
    private readonly dispatch: DispatchService,
    private readonly geofences: Pick<Geofences, 'watch'>,
    riders: Pick<RiderService, 'onFix' | 'position'>,
    private readonly settings: InfraConfig['dispatch'],
    private readonly onCommit: () => void,
    private readonly log?: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.eta = new EtaService(db, riders, settings, onCommit, log, now);
    // dispatch's travel estimates use the speeds learned from fixes too
    dispatch.useSpeedModel((riderId, zone) => this.eta.model.speed(riderId, zone));
    // and they rank a busy rider by what a job adds to its planned stops, not by its straight distance alone
    dispatch.useRoutes((riderId, pickup, dropoff) => this.eta.itineraries.insertionS(riderId, pickup, dropoff));
  }

  /** Plugged into dispatch: a delivery starts with every assignment. */
  readonly hook: AssignmentHook = {
    assigned: (trx, job, riderId, now) => this.create(trx, job, riderId, now),
    committed: (job) => {
      void deliveryStore.byJob(dd(this.db), job.id).then((row) => {
        if (!row) return;
        this.watch(row);
        this.eta.track(row);
      }, (err: Error) => this.log?.warn({ err: err.message, jobId: job.id }, 'geofence watch failed'));
    },
  };

  private async create(trx: AnyDb, job: JobRow, riderId: string, now: number): Promise<void> {
    const id = newId('dlv', now);
    const status = this.flows.definition(FLOW).initial;
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await deliveryStore.insert(dd(trx), {
      id, job_id: job.id, order_id: job.order_id, customer_id: job.customer_id, rider_id: riderId, zone: job.zone, status,
      pickup_lat: job.pickup_lat, pickup_lng: job.pickup_lng, dropoff_lat: job.dropoff_lat, dropoff_lng: job.dropoff_lng,
      proof_policy: job.proof, code, code_failures: 0, proof: null, merchant_id: job.merchant_id, units: job.units, created_at: now, updated_at: now, finished_at: null,
    });
    await this.flows.start(trx as FlowDb, FLOW, id, { id: 'dispatch', role: 'service' }, now);
    // orders/{orderId} reaches the customer (and staff), never the rider: the code travels here.
    await outboxStore.append(ob(trx), job.order_id, topics.order(job.order_id), { type: 'delivery.assigned', orderId: job.order_id, deliveryId: id, jobId: job.id, riderId, status, code, tracking: topics.fleetLocation(riderId), at: iso(now) }, now);
    if (job.customer_id) {
      const grant: TopicGrant = { op: 'grant', user: job.customer_id, topic: topics.fleetLocation(riderId) };
      await outboxStore.append(ob(trx), job.order_id, topics.aclGrants, grant, now);
    }
  }

  /** Geofences around the pickup and the drop-off for the delivery's rider. */
  private watch(row: DeliveryRow): void {
    if (row.finished_at !== null || this.fences.has(row.id)) return;
    const radiusM = this.settings.arrivalRadiusM;
    const fence = (stop: 'pickup' | 'dropoff', center: { lat: number; lng: number }) =>
      this.geofences.watch({ id: `${row.id}:${stop}`, riderId: row.rider_id, center, radiusM }, (e) => this.crossed(row, stop, e));
    this.fences.set(row.id, [fence('pickup', { lat: row.pickup_lat, lng: row.pickup_lng }), fence('dropoff', { lat: row.dropoff_lat, lng: row.dropoff_lng })]);
  }

  /**
   * A fence crossed: a delivery.geofence event (arrival/departure) on orders/{orderId} through the outbox, then the
   * flow event it implies (arriving at the pickup, leaving it, arriving at the customer), in order per delivery.
   */
  private crossed(row: DeliveryRow, stop: 'pickup' | 'dropoff', e: FenceEvent): void {
    const kind = e.kind === 'enter' ? 'arrival' : 'departure';
    const event = stop === 'pickup' ? (e.kind === 'enter' ? 'arrive_pickup' : 'depart_pickup') : e.kind === 'enter' ? 'arrive_customer' : undefined;
    this.serial(row.id, kind, async () => {
      const now = this.now();
      await this.db.transaction().execute((trx) => outboxStore.append(ob(trx), row.order_id, topics.order(row.order_id), {
        type: 'delivery.geofence', orderId: row.order_id, deliveryId: row.id, riderId: row.rider_id, stop, kind, radiusM: this.settings.arrivalRadiusM, at: iso(e.at),
      }, now));
      this.onCommit();
      if (event) await this.applyAuto(row.id, event);
    });
  }

  private unwatch(id: string): void {
    for (const off of this.fences.get(id) ?? []) off();
    this.fences.delete(id);
  }

  /** Starts the ETA tracker and re-arms geofences and ETAs of every running delivery (after a restart). */
  async resume(): Promise<number> {
    this.eta.start();
    const open = await deliveryStore.open(dd(this.db));
    for (const r of open) {
      this.watch(r);
      this.eta.track(r);
    }
    return open.length;
  }

  close(): void {
    this.eta.close();
    for (const id of [...this.fences.keys()]) this.unwatch(id);
  }

  /** Runs geofence work in order per delivery; a failure is logged, never thrown. */
  private serial(id: string, what: string, work: () => Promise<void>): void {
    const prev = this.queues.get(id) ?? Promise.resolve();
    const next = prev.then(work).catch((err: Error) => this.log?.warn({ err: err.message, deliveryId: id, what }, 'geofence event not applied'));
    this.queues.set(id, next);
    void next.finally(() => {
      if (this.queues.get(id) === next) this.queues.delete(id);
    });
  }

  /** A geofence's flow event: fired when the current state allows it, ignored otherwise (a rider passing by). */
  private async applyAuto(id: string, event: string): Promise<void> {
    const state = await this.flows.state(this.db as FlowDb, FLOW, id);
    if (!state || !this.flows.allowedEvents(FLOW, state, SYSTEM.role).includes(event)) return;
    await this.fire(id, { event }, SYSTEM);
  }

  /** Adds work to the transaction in which a delivery becomes delivered (all or nothing with it). */
  whenDelivered(hook: (trx: AnyDb, orderId: string, reason: string) => Promise<unknown>): void {
    this.deliveredHooks.push(hook);
  }

  /** Fires a flow event (rider: own deliveries only). deliver needs proof; a failure raises an exception; an end releases the rider. */
  async fire(id: string, body: DeliveryEventBody, actor: Actor): Promise<DeliveryView> {
    const row = await this.load(this.db, id, actor);
    if (body.event === 'deliver' && body.proof?.code !== undefined) await this.checkCode(row, body.proof.code);
    let finished = false;
    let to = '';
    const view = await this.db.transaction().execute(async (trx) => {
      const now = this.now();
      const fired = await this.flows.fire(trx as FlowDb, FLOW, id, body.event, actor, now, body.reason ? { reason: body.reason } : {});
      const set: Partial<DeliveryRow> = { status: fired.to, updated_at: now };
      if (fired.to === 'delivered') set.proof = JSON.stringify(this.checkProof(row, body.proof, actor));
      const final = this.flows.definition(FLOW).states[fired.to]?.final === true;
      if (final) set.finished_at = now;
      await deliveryStore.update(dd(trx), id, set);
      await this.eta.transitioned(trx, id, fired.to, now);
      to = fired.to;
      await outboxStore.append(ob(trx), row.order_id, topics.order(row.order_id), { type: 'delivery.status', orderId: row.order_id, deliveryId: id, from: fired.from, to: fired.to, event: body.event, at: iso(now) }, now);
      if (FAILURE_STATES.has(fired.to)) {
        await this.exceptions.raise({ type: `delivery_${body.event}`, severity: 'high', entityType: 'delivery', entityId: id, detail: `delivery ${id} (order ${row.order_id}, rider ${row.rider_id}) failed: ${body.event}${body.reason ? `: ${body.reason}` : ''}` }, trx as ExceptionDb);
      }
      if (fired.to === 'delivered') for (const hook of this.deliveredHooks) await hook(trx, row.order_id, `delivery ${id} delivered by rider ${row.rider_id}`);
      if (final) {
        await this.dispatch.finish(trx, row.job_id, fired.to === 'delivered' ? 'delivered' : fired.to === 'cancelled' ? 'cancelled' : 'failed', now);
        if (row.customer_id) {
          const revoke: TopicGrant = { op: 'revoke', user: row.customer_id, topic: topics.fleetLocation(row.rider_id) };
          await outboxStore.append(ob(trx), row.order_id, topics.aclGrants, revoke, now);
        }
        finished = true;
      }
      return this.view(trx, (await deliveryStore.get(dd(trx), id))!, actor);
    });
    this.onCommit();
    if (finished) this.unwatch(id);
    this.eta.moved(id, to, finished);
    return view;
  }

  /**
   * A wrong code is counted (in its own transaction: the refused delivery rolls back); the MAX_CODE_FAILURES-th raises
   * a delivery_code_attempts exception, and from then on codes are refused: staff deliver with a recipient name.
   */
  private async checkCode(row: DeliveryRow, code: string): Promise<void> {
    if (row.code_failures >= MAX_CODE_FAILURES) throw new InfraError('INFRA_ERR_DELIVERY_PROOF', `too many wrong codes for delivery ${row.id}: staff deliver it with a recipient name`, { details: [{ path: 'body.proof.code', message: 'locked' }] });
    if (code === row.code) return;
    const failures = await this.db.transaction().execute(async (trx) => {
      const n = await deliveryStore.codeFailed(dd(trx), row.id);
      if (n === MAX_CODE_FAILURES) await this.exceptions.raise({ type: 'delivery_code_attempts', severity: 'high', entityType: 'delivery', entityId: row.id, detail: `${n} wrong one-time codes for delivery ${row.id} (rider ${row.rider_id})` }, trx as ExceptionDb);
      return n;
    });
    throw new InfraError('INFRA_ERR_DELIVERY_PROOF', `the one-time code does not match (${failures} of ${MAX_CODE_FAILURES} attempts)`, { details: [{ path: 'body.proof.code', message: 'wrong code' }] });
  }

  /** The customer's code always works; a name (and a photo file id) only when the job's policy allows it, or staff give it. */
  private checkProof(row: DeliveryRow, proof: DeliveryEventBody['proof'], actor: Actor): { code: boolean; recipientName: string | null; photoFileId: string | null } {
    const out = { code: false, recipientName: proof?.recipientName ?? null, photoFileId: proof?.photoFileId ?? null };
    if (actor.role !== 'rider' && out.recipientName && !proof?.code) return out;
    if (proof?.code !== undefined) {
      if (proof.code !== row.code) throw new InfraError('INFRA_ERR_DELIVERY_PROOF', 'the one-time code does not match', { details: [{ path: 'body.proof.code', message: 'wrong code' }] });
      return { ...out, code: true };
    }
    if (row.proof_policy === 'name' && out.recipientName) return out;
    if (row.proof_policy === 'photo' && out.recipientName && out.photoFileId) return out;
    const need = row.proof_policy === 'code' ? 'proof.code' : row.proof_policy === 'name' ? 'proof.code or proof.recipientName' : 'proof.code, or proof.recipientName and proof.photoFileId';
    throw new InfraError('INFRA_ERR_DELIVERY_PROOF', `this delivery needs ${need}`, { details: [{ path: 'body.proof', message: `needs ${need}` }] });
  }

  /** Resolving a delivery's exception with `retry` dispatches its job again (a new job, a new delivery). */
  async retry(id: string, actor: Actor): Promise<void> {
    const row = await this.load(this.db, id, actor);
    await this.dispatch.redispatch(row.job_id, actor);
  }

  /** Riders see their own deliveries, customers the ones of their orders, merchant staff their merchant's; anyone else's is a 404. */
  private async load(db: AnyDb, id: string, actor: Viewer): Promise<DeliveryRow> {
    const r = await deliveryStore.get(dd(db), id);
    if (!r || (actor.role === 'rider' && r.rider_id !== actor.id) || (actor.role === 'user' && r.customer_id !== actor.id) || (actor.role === 'merchant' && r.merchant_id !== actor.merchant)) {
      throw new InfraError('INFRA_ERR_NOT_FOUND', `delivery ${id} not found`);
    }
    return r;
  }

  async get(id: string, actor: Viewer): Promise<DeliveryView> {
    return this.view(this.db, await this.load(this.db, id, actor), actor);
  }

  async list(q: DeliveryQuery, actor: Viewer): Promise<{ items: DeliveryView[] }> {
    const rows = await deliveryStore.list(dd(this.db), {
      ...(q.order ? { order: q.order } : {}), ...(q.job ? { job: q.job } : {}),
      ...(actor.role === 'rider' ? { rider: actor.id } : q.rider ? { rider: q.rider } : {}),
      ...(actor.role === 'user' ? { customer: actor.id } : {}),
      ...(actor.role === 'merchant' ? { merchant: actor.merchant ?? '-' } : {}),
      limit: q.limit ?? 50,
    });
    return { items: await Promise.all(rows.map((r) => this.view(this.db, r, actor))) };
  }

  private async view(db: AnyDb, r: DeliveryRow, actor: Viewer): Promise<DeliveryView> {
    const history = await this.flows.history(db as FlowDb, FLOW, r.id);
    return {
      id: r.id, jobId: r.job_id, orderId: r.order_id, riderId: r.rider_id, customer: r.customer_id, status: r.status,
      pickup: { lat: r.pickup_lat, lng: r.pickup_lng }, dropoff: { lat: r.dropoff_lat, lng: r.dropoff_lng }, proofPolicy: r.proof_policy,
      ...(actor.role === 'rider' || actor.role === 'merchant' ? {} : { code: r.code }),
      proof: r.proof ? JSON.parse(r.proof) as DeliveryView['proof'] : null,
      history: history.map((h) => ({ ...h, at: iso(h.at) })),
      allowedEvents: this.flows.allowedEvents(FLOW, r.status, actor.role),
      createdAt: iso(r.created_at), updatedAt: iso(r.updated_at), finishedAt: r.finished_at === null ? null : iso(r.finished_at),
    };
  }
}
