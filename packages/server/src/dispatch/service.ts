import { distanceM, InfraError, newId, topics, type InfraConfig, type Logger, type TopicGrant } from '@infra/core';
import type { Kysely } from 'kysely';
import type { AvailableRider, RiderService } from '../riders/index.js';
import { outboxStore, type OutboxDb } from '../outbox/store.js';
import { LOAD_PENALTY_S, planBatch } from './batch.js';
import { jobView, offerView, decisionView } from './views.js';
import { dispatchStore, type DecisionInput, type DispatchDb, type JobRow, type JobStatus, type OfferRow } from './store.js';
import type { CreateJobBody, JobView, OfferView } from './schema.js';

type AnyDb = Kysely<any>;
const d = (db: AnyDb): DispatchDb => db as unknown as DispatchDb;
const ob = (db: AnyDb): OutboxDb => db as unknown as OutboxDb;
const iso = (ms: number): string => new Date(ms).toISOString();
export type DispatchSettings = InfraConfig['dispatch'];
type Strategy = 'nearest' | 'batch' | 'grab';

/** What runs when a job is assigned: the delivery module starts the delivery in the same transaction. */
export interface AssignmentHook {
  assigned(trx: AnyDb, job: JobRow, riderId: string, now: number): Promise<void>;
  /** after the commit (start geofences, timers) */
  committed?(job: JobRow, riderId: string): void;
}

interface Candidate {
  rider: AvailableRider;
  own: boolean;
  /** the ranking cost in seconds: travel to the pickup for a rider without stops; for a rider with stops, what the job adds to them */
  travelS: number;
  /** true when the rider has planned stops and `travelS` is what the job adds to them */
  enRoute: boolean;
}

type LatLng = { lat: number; lng: number };

/** Thrown inside an assignment transaction to roll it back when the rider's capacity is taken meanwhile. */
class RiderFull extends Error {}
/** Thrown inside an accept when the offer closed meanwhile (expired or withdrawn). */
class OfferLost extends Error {}

/**
 * The dispatch pool: jobs enter it (POST /dispatch/jobs) and leave it assigned to a rider by their zone's
 * strategy. Every state change is a conditional UPDATE (a job is assigned once, an offer answered once,
 * a rider's load never passes capacity: RiderService.reserveCapacity) and every decision is stored with why.
 */
export class DispatchService {
  private readonly hooks: AssignmentHook[] = [];
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private speedOf: (riderId: string, zone: string) => number;
  private addedS: (riderId: string, pickup: LatLng, dropoff: LatLng) => number | undefined = () => undefined;

  constructor(
    private readonly db: AnyDb,
    private readonly riders: RiderService,
    private readonly settings: DispatchSettings,
    private readonly onCommit: () => void,
    private readonly customerOfOrder: (orderId: string) => Promise<string | undefined>,
    private readonly log?: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.speedOf = () => settings.speedMps;
  }

  onAssigned(hook: AssignmentHook): void {
    this.hooks.push(hook);
  }

  /**
   * Seconds of travel a job (pickup, drop-off) adds to a rider's planned stops at its cheapest place; undefined for a
   * rider without stops. The delivery module plugs its itineraries in here.
   */
  useRoutes(addedS: (riderId: string, pickup: LatLng, dropoff: LatLng) => number | undefined): void {
    this.addedS = addedS;
  }

  /** Travel speed (m/s) for a rider in a zone; the ETA module plugs its learned model in here. */
  useSpeedModel(speedOf: (riderId: string, zone: string) => number): void {
    this.speedOf = speedOf;
  }

  // ---- jobs ------------------------------------------------------------------------------------

  private zoneOf(body: CreateJobBody): { zone: string; strategy: Strategy } {
    const zones = this.settings.zones;
    if (body.zone) {
      const z = zones.find((x) => x.id === body.zone);
      if (!z) throw new InfraError('INFRA_ERR_VALIDATION', `unknown dispatch zone ${body.zone} (known: ${zones.map((x) => x.id).join(', ') || 'none'})`, { details: [{ path: 'body.zone', message: 'unknown zone' }] });
      return { zone: z.id, strategy: z.strategy };
    }
    const z = zones.find((x) => distanceM(x.center.lat, x.center.lng, body.pickup.lat, body.pickup.lng) <= x.radiusM);
    return z ? { zone: z.id, strategy: z.strategy } : { zone: 'default', strategy: this.settings.strategy };
  }

  /**
   * A job enters the pool; nearest and grab zones act at once, batch zones at their next round. A job naming an order
   * takes that order's customer (another named customer is refused); `orderChecked`: the pair was checked when the job
   * being dispatched again was created (a stand-alone job's order id is its own job id, not an order).
   */
  async createJob(body: CreateJobBody, actor: { id: string }, opts: { orderChecked?: boolean } = {}): Promise<JobView> {
    const { zone, strategy } = this.zoneOf(body);
    const now = this.now();
    const id = newId('job', now);
    let customer = body.customer ?? null;
    if (body.orderId && !opts.orderChecked) {
      // the order's own customer: the delivery's events go to orders/{orderId} and its rider's position to that customer
      const ofOrder = await this.customerOfOrder(body.orderId);
      if (!ofOrder) throw new InfraError('INFRA_ERR_NOT_FOUND', `order ${body.orderId} not found`);
      if (customer !== null && customer !== ofOrder) {
        throw new InfraError('INFRA_ERR_VALIDATION', `customer ${customer} is not the customer of order ${body.orderId}`, { details: [{ path: 'body.customer', message: 'not the order\'s customer' }] });
      }
      customer = ofOrder;
    }
    const row: JobRow = {
      id, order_id: body.orderId ?? id, customer_id: customer, merchant_id: body.merchantId ?? null, zone, strategy,
      pickup_lat: body.pickup.lat, pickup_lng: body.pickup.lng, dropoff_lat: body.dropoff.lat, dropoff_lng: body.dropoff.lng,
      units: body.units ?? 1, skills: JSON.stringify(body.skills ?? []), proof: body.proof ?? 'code', status: 'pooled', rider_id: null,
      created_by: actor.id, created_at: now, updated_at: now,
    };
    await this.db.transaction().execute(async (trx) => {
      await dispatchStore.insertJob(d(trx), row);
      // without an order, the job id stands in for it: its customer may follow orders/{jobId} (an order grants its own at creation)
      if (!body.orderId && customer) await outboxStore.append(ob(trx), id, topics.aclGrants, { op: 'grant', user: customer, topic: topics.order(id) } satisfies TopicGrant, now);
      await this.decide(trx, { job_id: id, rider_id: null, strategy, outcome: 'pooled', reason: `zone ${zone}: strategy ${strategy}${row.merchant_id ? `, merchant ${row.merchant_id}` : ''}`, at: now });
    });
    this.onCommit();
    await this.dispatchJob(row);
    return this.getJob(id);
  }

  /** A failed or cancelled job is tried again: a new job with the same pickup, drop-off, order and customer enters the pool. */
  async redispatch(jobId: string, actor: { id: string }): Promise<JobView> {
    const j = await dispatchStore.job(d(this.db), jobId);
    if (!j) throw new InfraError('INFRA_ERR_NOT_FOUND', `job ${jobId} not found`);
    if (j.status !== 'failed' && j.status !== 'cancelled') throw new InfraError('INFRA_ERR_CONFLICT', `job ${jobId} is ${j.status}: only a failed or cancelled job is dispatched again`);
    return this.createJob({
      orderId: j.order_id, ...(j.customer_id ? { customer: j.customer_id } : {}), ...(j.merchant_id ? { merchantId: j.merchant_id } : {}), ...(j.zone !== 'default' ? { zone: j.zone } : {}),
      pickup: { lat: j.pickup_lat, lng: j.pickup_lng }, dropoff: { lat: j.dropoff_lat, lng: j.dropoff_lng }, units: j.units, skills: JSON.parse(j.skills) as string[], proof: j.proof as JobView['proof'],
    }, actor, { orderChecked: true });
  }

  async getJob(id: string, db: AnyDb = this.db): Promise<JobView> {
    const row = await dispatchStore.job(d(db), id);
    if (!row) throw new InfraError('INFRA_ERR_NOT_FOUND', `job ${id} not found`);
    return jobView(row, await dispatchStore.offersOfJob(d(db), id));
  }

  async decisions(jobId: string, limit = 200) {
    return { items: (await dispatchStore.decisions(d(this.db), jobId, limit)).map(decisionView) };
  }

  private decide(db: AnyDb, x: Omit<DecisionInput, 'distance_m' | 'load' | 'capacity' | 'score'> & Partial<DecisionInput>): Promise<void> {
    return dispatchStore.decide(d(db), { distance_m: null, load: null, capacity: null, score: null, ...x });
  }

  // ---- candidates --------------------------------------------------------------------------------

  /**
   * Riders who can take the job now: on duty, near the pickup, with room for its units (pending offers count),
   * not excluded. A merchant's job sees its own riders; the platform pool only when none is available and
   * dispatch.merchantFallback allows it. Nearest travel time first.
   */
  private async candidates(job: JobRow, exclude: Set<string>): Promise<Candidate[]> {
    const skills = JSON.parse(job.skills) as string[];
    const pickup = { lat: job.pickup_lat, lng: job.pickup_lng };
    const dropoff = { lat: job.dropoff_lat, lng: job.dropoff_lng };
    const q = { near: { lat: job.pickup_lat, lng: job.pickup_lng }, radiusM: this.settings.searchRadiusM, limit: 50, ...(skills.length ? { skills } : {}) };
    const pick = async (merchantId: string | null, own: boolean): Promise<Candidate[]> => {
      const found = await this.riders.available({ ...q, merchantId });
      const out: Candidate[] = [];
      for (const r of found) {
        if (exclude.has(r.id)) continue;
        const pending = await this.pendingUnits(r.id);
        if (r.load + pending + job.units > r.capacity) continue;
        const speed = this.speedOf(r.id, job.zone);
        // A rider with stops is ranked by the travel the job adds to them, less the job's own ride (the same for every
        // rider), so a rider without stops keeps its plain travel to the pickup and the two compare.
        const added = this.addedS(r.id, pickup, dropoff);
        const travelS = added === undefined ? (r.distanceM * this.settings.detourFactor) / speed : Math.max(0, added - (distanceM(pickup.lat, pickup.lng, dropoff.lat, dropoff.lng) * this.settings.detourFactor) / speed);
        out.push({ rider: r, own, travelS, enRoute: added !== undefined });
      }
      return out.sort((a, b) => a.travelS - b.travelS || a.rider.id.localeCompare(b.rider.id));
    };
    if (job.merchant_id) {
      const own = await pick(job.merchant_id, true);
      if (own.length || !this.settings.merchantFallback) return own;
    }
    return pick(null, false);
  }

  private async pendingUnits(riderId: string): Promise<number> {
    let units = 0;
    for (const o of await dispatchStore.openOffersOfRider(d(this.db), riderId)) units += (await dispatchStore.job(d(this.db), o.job_id))?.units ?? 0;
    return units;
  }

  /** Riders who said no to this job (they are not asked again, nor given it by the fallback). */
  private async rejecters(jobId: string): Promise<Set<string>> {
    return new Set((await dispatchStore.offersOfJob(d(this.db), jobId)).filter((o) => o.status === 'rejected').map((o) => o.rider_id));
  }

  private async noRider(job: JobRow, reason: string): Promise<void> {
    const last = await dispatchStore.lastDecision(d(this.db), job.id);
    if (last?.outcome === 'no_rider') return; // one line per dry spell, not one per round
    await this.decide(this.db, { job_id: job.id, rider_id: null, strategy: job.strategy, outcome: 'no_rider', reason, at: this.now() });
  }

  // ---- assignment -------------------------------------------------------------------------------

  private async dispatchJob(job: JobRow): Promise<void> {
    if (job.strategy === 'nearest') await this.assignNearest(job, await this.rejecters(job.id), 'nearest');
    else if (job.strategy === 'grab') {
      const offers = await dispatchStore.offersOfJob(d(this.db), job.id);
      if (offers.length === 0) await this.offerRound(job);
      else await this.assignNearest(job, await this.rejecters(job.id), 'grab fallback: nearest');
    }
  }

  /** Assigns a pooled job to the nearest candidate; a rider who filled up meanwhile is skipped. */
  private async assignNearest(job: JobRow, exclude: Set<string>, how: string): Promise<boolean> {
    const list = await this.candidates(job, exclude);
    for (const c of list) {
      const r = await this.tryAssign(job, ['pooled'], c.rider.id, {
        strategy: job.strategy, outcome: 'assigned', distance_m: c.rider.distanceM, load: c.rider.load, capacity: c.rider.capacity, score: c.travelS,
        reason: `${how}: ${Math.round(c.rider.distanceM)} m, ${c.enRoute ? `${Math.round(c.travelS)} s added to its planned stops` : `${Math.round(c.travelS)} s away`}, ${c.own ? 'own rider' : 'platform pool'}; nearest of ${list.length}`,
      });
      if (r !== 'full') return r === 'assigned';
    }
    await this.noRider(job, `${how}: no available rider within ${this.settings.searchRadiusM} m${exclude.size ? ` (excluded: ${[...exclude].join(', ')})` : ''}`);
    return false;
  }

  /**
   * Moves the job to `assigned` for the rider and reserves their capacity in one transaction, with the
   * delivery hook and the rider's notice. 'gone' when the job left `from` meanwhile, 'full' when the rider did.
   */
  private async tryAssign(job: JobRow, from: JobStatus[], riderId: string, decision: Omit<DecisionInput, 'job_id' | 'rider_id' | 'at'>, inTrx?: (trx: AnyDb, now: number) => Promise<void>): Promise<'assigned' | 'gone' | 'full'> {
    let fresh: JobRow | undefined;
    try {
      const ok = await this.db.transaction().execute(async (trx) => {
        const now = this.now();
        if (!(await dispatchStore.moveJob(d(trx), job.id, from, 'assigned', now, riderId))) return false;
        if (!(await this.riders.reserveCapacity(trx, riderId, job.units))) throw new RiderFull();
        await inTrx?.(trx, now);
        await this.decide(trx, { ...decision, job_id: job.id, rider_id: riderId, at: now });
        fresh = await dispatchStore.job(d(trx), job.id);
        await this.grantOffers(trx, riderId, now);
        await outboxStore.append(ob(trx), job.id, topics.fleetOffers(riderId), { type: 'dispatch.assigned', jobId: job.id, orderId: job.order_id, pickup: { lat: job.pickup_lat, lng: job.pickup_lng }, dropoff: { lat: job.dropoff_lat, lng: job.dropoff_lng }, units: job.units, at: iso(now) }, now);
        for (const h of this.hooks) await h.assigned(trx, fresh!, riderId, now);
        return true;
      });
      if (!ok) return 'gone';
    } catch (err) {
      if (err instanceof OfferLost) return 'gone';
      if (!(err instanceof RiderFull)) throw err;
      await this.decide(this.db, { job_id: job.id, rider_id: riderId, strategy: job.strategy, outcome: 'skipped_full', reason: `rider ${riderId} has no room for ${job.units} unit(s) any more`, at: this.now() });
      return 'full';
    }
    this.onCommit();
    for (const h of this.hooks) h.committed?.(fresh!, riderId);
    return 'assigned';
  }

  /** The rider may subscribe to fleet/{riderId}/offers: a durable broker grant, written once per rider. */
  private async grantOffers(trx: AnyDb, riderId: string, now: number): Promise<void> {
    if (!(await dispatchStore.markGranted(d(trx), riderId, now))) return;
    const grant: TopicGrant = { op: 'grant', user: riderId, topic: topics.fleetOffers(riderId) };
    await outboxStore.append(ob(trx), riderId, topics.aclGrants, grant, now);
  }

  // ---- grab: offers -----------------------------------------------------------------------------

  private async offerRound(job: JobRow): Promise<void> {
    const all = await this.candidates(job, new Set());
    const chosen = all.slice(0, this.settings.grabOffers);
    if (chosen.length === 0) return this.noRider(job, `grab: no available rider within ${this.settings.searchRadiusM} m to offer to`);
    const offered = await this.db.transaction().execute(async (trx) => {
      const now = this.now();
      if (!(await dispatchStore.moveJob(d(trx), job.id, ['pooled'], 'offered', now))) return false;
      const expiresAt = now + this.settings.offerTimeoutMs;
      const rows: OfferRow[] = chosen.map((c, i) => ({ id: newId('ofr', now), job_id: job.id, rider_id: c.rider.id, rank: i + 1, status: 'pending', created_at: now, expires_at: expiresAt, answered_at: null }));
      await dispatchStore.insertOffers(d(trx), rows);
      for (const [i, c] of chosen.entries()) {
        const o = rows[i]!;
        await this.decide(trx, {
          job_id: job.id, rider_id: c.rider.id, strategy: 'grab', outcome: 'offered', distance_m: c.rider.distanceM, load: c.rider.load, capacity: c.rider.capacity, score: c.travelS,
          reason: `grab: offer ${o.id}, ${i + 1} of the ${chosen.length} nearest (${Math.round(c.rider.distanceM)} m, ${c.own ? 'own rider' : 'platform pool'}), expires in ${this.settings.offerTimeoutMs} ms`, at: now,
        });
        await this.grantOffers(trx, c.rider.id, now);
        await outboxStore.append(ob(trx), job.id, topics.fleetOffers(c.rider.id), { type: 'dispatch.offer', ...offerView(o, job) }, now);
      }
      return true;
    });
    if (offered) this.onCommit();
  }

  /** A rider's open offers (staff: anyone's). Also grants the rider their offers topic, so call it before subscribing. */
  async openOffers(riderId: string, grant: boolean): Promise<{ items: OfferView[] }> {
    if (grant) {
      // written on every call (the broker applies a grant idempotently): a rider starting a shift always ends up granted
      await this.db.transaction().execute(async (trx) => {
        await dispatchStore.markGranted(d(trx), riderId, this.now());
        await outboxStore.append(ob(trx), riderId, topics.aclGrants, { op: 'grant', user: riderId, topic: topics.fleetOffers(riderId) } satisfies TopicGrant, this.now());
      });
      this.onCommit();
    }
    const items: OfferView[] = [];
    for (const o of await dispatchStore.openOffersOfRider(d(this.db), riderId)) {
      const job = await dispatchStore.job(d(this.db), o.job_id);
      if (job) items.push(offerView(o, job));
    }
    return { items };
  }

  /**
   * A rider answers an offer (HTTP or MQTT). Accept: the first one wins (conditional UPDATE of the job),
   * the rider's capacity is reserved, the other offers are withdrawn. Reject: once every offer of the job
   * is answered or expired, the job goes back to the pool and falls back to the nearest rider.
   */
  async answer(offerId: string, riderId: string, accept: boolean): Promise<JobView> {
    const offer = await dispatchStore.offer(d(this.db), offerId);
    if (!offer || offer.rider_id !== riderId) throw new InfraError('INFRA_ERR_NOT_FOUND', `offer ${offerId} not found`);
    const job = await dispatchStore.job(d(this.db), offer.job_id);
    if (!job) throw new InfraError('INFRA_ERR_NOT_FOUND', `offer ${offerId} not found`);
    if (offer.status === 'pending' && offer.expires_at <= this.now()) {
      await this.expire(offer, job);
      throw new InfraError('INFRA_ERR_DISPATCH_OFFER_CLOSED', `offer ${offerId} expired`);
    }
    if (offer.status !== 'pending') throw new InfraError('INFRA_ERR_DISPATCH_OFFER_CLOSED', `offer ${offerId} is ${offer.status}`);
    if (!accept) {
      const closed = await this.db.transaction().execute(async (trx) => {
        const now = this.now();
        if (!(await dispatchStore.closeOffer(d(trx), offer.id, 'rejected', now))) return false;
        await this.decide(trx, { job_id: job.id, rider_id: riderId, strategy: 'grab', outcome: 'rejected', reason: `offer ${offer.id} rejected by the rider`, at: now });
        return true;
      });
      if (!closed) throw new InfraError('INFRA_ERR_DISPATCH_OFFER_CLOSED', `offer ${offerId} was answered meanwhile`);
      await this.afterOfferClosed(job.id);
      return this.getJob(job.id);
    }
    const pos = this.riders.position(riderId);
    const dist = pos ? distanceM(pos.lat, pos.lng, job.pickup_lat, job.pickup_lng) : null;
    const r = await this.tryAssign(job, ['offered'], riderId, {
      strategy: 'grab', outcome: 'accepted', distance_m: dist, load: null, capacity: null, score: dist === null ? null : (dist * this.settings.detourFactor) / this.speedOf(riderId, job.zone),
      reason: `offer ${offer.id} accepted first${dist === null ? '' : ` (${Math.round(dist)} m away)`}`,
    }, async (trx, now) => {
      if (!(await dispatchStore.closeOffer(d(trx), offer.id, 'accepted', now))) throw new OfferLost();
      for (const o of await dispatchStore.withdrawOthers(d(trx), job.id, offer.id, now)) {
        await this.decide(trx, { job_id: job.id, rider_id: o.rider_id, strategy: 'grab', outcome: 'withdrawn', reason: `offer ${o.id} withdrawn: ${riderId} accepted first`, at: now });
        await outboxStore.append(ob(trx), job.id, topics.fleetOffers(o.rider_id), { type: 'dispatch.withdrawn', offerId: o.id, jobId: job.id, at: iso(now) }, now);
      }
    });
    if (r === 'assigned') return this.getJob(job.id);
    if (r === 'gone') throw new InfraError('INFRA_ERR_DISPATCH_OFFER_CLOSED', `job ${job.id} went to another rider`);
    // the rider is full: their offer is void, the others still stand
    if (await dispatchStore.closeOffer(d(this.db), offer.id, 'rejected', this.now())) await this.afterOfferClosed(job.id);
    throw new InfraError('INFRA_ERR_DISPATCH_RIDER_FULL', `rider ${riderId} has no room for ${job.units} more unit(s)`);
  }

  private async expire(offer: OfferRow, job: JobRow): Promise<void> {
    const closed = await this.db.transaction().execute(async (trx) => {
      const now = this.now();
      if (!(await dispatchStore.closeOffer(d(trx), offer.id, 'expired', now))) return false;
      await this.decide(trx, { job_id: job.id, rider_id: offer.rider_id, strategy: 'grab', outcome: 'expired', reason: `offer ${offer.id} not answered within ${this.settings.offerTimeoutMs} ms`, at: now });
      await outboxStore.append(ob(trx), job.id, topics.fleetOffers(offer.rider_id), { type: 'dispatch.expired', offerId: offer.id, jobId: job.id, at: iso(now) }, now);
      return true;
    });
    if (closed) {
      this.onCommit();
      await this.afterOfferClosed(job.id);
    }
  }

  /** When the last open offer of an offered job closes without an accept, the job returns to the pool and falls back to nearest. */
  private async afterOfferClosed(jobId: string): Promise<void> {
    const offers = await dispatchStore.offersOfJob(d(this.db), jobId);
    if (offers.some((o) => o.status === 'pending' || o.status === 'accepted')) return;
    const now = this.now();
    const back = await this.db.transaction().execute(async (trx) => {
      if (!(await dispatchStore.moveJob(d(trx), jobId, ['offered'], 'pooled', now))) return false;
      await this.decide(trx, { job_id: jobId, rider_id: null, strategy: 'grab', outcome: 'fallback', reason: `no rider accepted (${offers.map((o) => `${o.rider_id}: ${o.status}`).join(', ')}): back to the pool, nearest rider next`, at: now });
      return true;
    });
    const job = back ? await dispatchStore.job(d(this.db), jobId) : undefined;
    if (job) await this.assignNearest(job, new Set(offers.filter((o) => o.status === 'rejected').map((o) => o.rider_id)), 'grab fallback: nearest');
  }

  // ---- batch ------------------------------------------------------------------------------------

  /**
   * One batch round: every pooled batch job against every candidate rider, solved as a min-cost assignment
   * (Hungarian). Columns are rider slots, one per free capacity unit; a rider's k-th slot costs travel time plus
   * (load + k) x LOAD_PENALTY_S, so spreading work beats stacking it when travel is close.
   */
  async batchRound(): Promise<{ jobs: number; assigned: number }> {
    const jobs = await dispatchStore.pooled(d(this.db), 'batch', 200);
    if (jobs.length === 0) return { jobs: 0, assigned: 0 };
    const cands = new Map<string, Candidate[]>();
    const riders = new Map<string, AvailableRider>();
    for (const j of jobs) {
      const list = await this.candidates(j, await this.rejecters(j.id));
      cands.set(j.id, list);
      for (const c of list) if (!riders.has(c.rider.id)) riders.set(c.rider.id, c.rider);
    }
    const free: { id: string; load: number; free: number }[] = [];
    for (const r of riders.values()) free.push({ id: r.id, load: r.load, free: r.capacity - r.load - (await this.pendingUnits(r.id)) });
    const plan = planBatch(jobs.map((j) => ({ candidates: new Map(cands.get(j.id)!.map((c) => [c.rider.id, c.travelS])) })), free);
    let assigned = 0;
    const matched = new Set<number>();
    for (const p of plan.pairs) {
      const j = jobs[p.job]!;
      const c = cands.get(j.id)!.find((x) => x.rider.id === p.riderId)!;
      const r = await this.tryAssign(j, ['pooled'], p.riderId, {
        strategy: 'batch', outcome: 'assigned', distance_m: c.rider.distanceM, load: c.rider.load + p.k, capacity: c.rider.capacity, score: p.cost,
        reason: `batch round: ${jobs.length} job(s) x ${riders.size} rider(s), ${plan.pairs.length} matched at total cost ${Math.round(plan.total)} s; this pair ${Math.round(c.travelS)} s travel + ${(c.rider.load + p.k) * LOAD_PENALTY_S} s load, ${c.own ? 'own rider' : 'platform pool'}`,
      });
      if (r === 'assigned') {
        assigned++;
        matched.add(p.job);
      }
    }
    for (const [i, j] of jobs.entries()) if (!matched.has(i)) await this.noRider(j, `batch round: no rider left for this job (${jobs.length} job(s), ${plan.slots} free slot(s))`);
    return { jobs: jobs.length, assigned };
  }

  // ---- the pool loop ----------------------------------------------------------------------------

  /** Expires due offers, retries waiting nearest/grab jobs and runs a batch round. Never overlaps itself. */
  tick(): Promise<void> {
    this.ticking ??= this.runTick().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async runTick(): Promise<void> {
    await this.expireDue();
    try {
      for (const s of ['nearest', 'grab'] as const) for (const j of await dispatchStore.pooled(d(this.db), s, 200)) await this.dispatchJob(j);
      await this.batchRound();
    } catch (err) {
      this.log?.warn({ err: (err as Error).message }, 'dispatch round failed; retrying next tick');
    }
  }

  /** Runs the pool loop: batch rounds every dispatch.batchIntervalMs, offer expiry at least as often as offers expire. */
  start(): void {
    const every = Math.max(50, Math.min(this.settings.batchIntervalMs, Math.ceil(this.settings.offerTimeoutMs / 4)));
    let last = 0;
    const loop = (): void => {
      this.timer = setTimeout(() => {
        const now = this.now();
        const batchDue = now - last >= this.settings.batchIntervalMs;
        if (batchDue) last = now;
        void (batchDue ? this.tick() : this.expireDue()).finally(() => this.timer && loop());
      }, every);
      this.timer.unref?.();
    };
    loop();
  }

  private async expireDue(): Promise<void> {
    try {
      for (const o of await dispatchStore.dueOffers(d(this.db), this.now(), 200)) {
        const job = await dispatchStore.job(d(this.db), o.job_id);
        if (job) await this.expire(o, job);
      }
    } catch (err) {
      this.log?.warn({ err: (err as Error).message }, 'offer expiry failed; retrying');
    }
  }

  async stop(): Promise<void> {
    const t = this.timer;
    this.timer = undefined;
    clearTimeout(t);
    await this.ticking;
  }

  /** The delivery ended: the job closes and the rider's capacity is released, in the caller's transaction. */
  async finish(trx: AnyDb, jobId: string, outcome: 'delivered' | 'failed' | 'cancelled', now: number): Promise<void> {
    const job = await dispatchStore.job(d(trx), jobId);
    if (!job || !job.rider_id) return;
    if (!(await dispatchStore.moveJob(d(trx), jobId, ['assigned'], outcome, now))) return;
    await this.riders.releaseCapacity(trx, job.rider_id, job.units);
    await this.decide(trx, { job_id: jobId, rider_id: job.rider_id, strategy: job.strategy, outcome: 'released', reason: `delivery ${outcome}: ${job.units} unit(s) of capacity released`, at: now });
  }
}
