import { distanceM, topics, type InfraConfig, type Logger } from '@infra/core';
import type { Kysely } from 'kysely';
import { solve, type RoutingNode, type RoutingProblem } from '../routing/index.js';
import { outboxStore, type OutboxDb } from '../outbox/store.js';
import type { DeliveryRow } from './store.js';

type AnyDb = Kysely<any>;
type LatLng = { lat: number; lng: number };
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export type StopKind = 'pickup' | 'dropoff';

/** One place a rider still has to visit for a delivery. `arrived`: the rider is there (travel done, service under way). */
export interface Stop {
  deliveryId: string;
  kind: StopKind;
  lat: number;
  lng: number;
  serviceS: number;
  arrived: boolean;
  /** epoch ms: the first arrival time a plan gave this stop (what its customer was first told) */
  promisedAt?: number;
}

export interface Eta {
  /** epoch ms; null once the leg is done (or the rider is at the stop) */
  pickupAt: number | null;
  dropoffAt: number | null;
}

/** Flow states (of the delivery flow) that say where a delivery stands on the road. */
const PICKED = new Set(['picked_up', 'heading_to_customer', 'at_customer']);
const AT: Record<string, StopKind> = { at_pickup: 'pickup', at_customer: 'dropoff' };
const HEADING: Record<string, StopKind> = { heading_to_pickup: 'pickup', heading_to_customer: 'dropoff' };

/**
 * Arrival times along a rider's stops in their order: from `from` (the rider's position) each leg takes
 * travelS(a, b), each stop its service time. A stop the rider is at takes no travel and gives no arrival (null).
 * Undefined when a leg starts from an unknown position.
 */
export function predictAlong(stops: readonly Stop[], from: LatLng | undefined, travelS: (a: LatLng, b: LatLng) => number, now: number): Map<string, Eta> | undefined {
  const out = new Map<string, Eta>();
  let at = from;
  let t = now;
  for (const s of stops) {
    let eta = out.get(s.deliveryId);
    if (!eta) out.set(s.deliveryId, (eta = { pickupAt: null, dropoffAt: null }));
    if (!s.arrived) {
      if (!at) return undefined;
      t += travelS(at, s) * 1000;
      const arrival = Math.round(t);
      if (s.kind === 'pickup') eta.pickupAt = arrival;
      else eta.dropoffAt = arrival;
    }
    t += s.serviceS * 1000;
    at = s;
  }
  return out;
}

interface RiderPlan {
  riderId: string;
  stops: Stop[];
  rows: Map<string, { row: DeliveryRow; status: string }>;
  solving: boolean;
  again: boolean;
  /** the stop order last sent to the rider */
  published: string;
  /** what the last solve started from (free stops, origin to about 100 m): a periodic round with nothing new skips the solver */
  solvedFrom: string;
}

export interface ItineraryDeps {
  /** the rider's last known position */
  position(riderId: string): LatLng | undefined;
  /** seconds of travel for this rider between two points (the learned speed model) */
  travelS(riderId: string, zone: string, a: LatLng, b: LatLng): number;
  /** the stops changed order or membership: ETAs follow */
  changed(riderId: string): void;
}

/** improvement iterations of one live re-plan, per free stop */
const ITERATIONS_PER_STOP = 500;

const key = (stops: readonly Stop[]): string => stops.map((s) => `${s.deliveryId}:${s.kind}`).join(',');

/**
 * Each rider's planned stop sequence over its running deliveries. A new job's stops go last, then the solver
 * re-sequences the stops not yet started (a pickup before its drop-off, capacity, service times; the route ends
 * wherever its last stop is), in a worker thread within dispatch.replanTimeLimitMs. Started steps stay first:
 * a stop the rider is at or heading to (at_pickup, heading_to_pickup, ...) is kept, and the plan starts where it
 * ends, with its goods on board. Every new order of stops goes to the rider as dispatch.route on
 * fleet/{riderId}/offers (through the outbox); the ETAs of every delivery follow the sequence.
 */
export class Itineraries {
  private readonly riders = new Map<string, RiderPlan>();
  private readonly riderOf = new Map<string, string>();
  /** live solves run one at a time (HTTP plans have their own routing.maxConcurrent) */
  private lane: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly db: AnyDb,
    private readonly settings: InfraConfig['dispatch'],
    private readonly deps: ItineraryDeps,
    private readonly onCommit: () => void,
    private readonly log?: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Periodic re-planning of every rider with two or more deliveries (dispatch.replanIntervalMs; 0 = only on assignment). */
  start(): void {
    const every = this.settings.replanIntervalMs;
    if (every <= 0) return;
    const loop = (): void => {
      this.timer = setTimeout(() => {
        void Promise.all([...this.riders.keys()].map((id) => this.replan(id, 'periodic'))).finally(() => !this.closed && loop());
      }, every);
      this.timer.unref?.();
    };
    loop();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  stops(riderId: string): readonly Stop[] {
    return this.riders.get(riderId)?.stops ?? [];
  }

  deliveries(riderId: string): string[] {
    return [...(this.riders.get(riderId)?.rows.keys() ?? [])];
  }

  zoneOf(riderId: string): string | undefined {
    for (const e of this.riders.get(riderId)?.rows.values() ?? []) return e.row.zone;
    return undefined;
  }

  /** A delivery joins its rider's sequence (assignment, restart): its stops go last, then the rider is re-planned. */
  add(row: DeliveryRow, status: string): void {
    if (this.riderOf.has(row.id)) return;
    let plan = this.riders.get(row.rider_id);
    if (!plan) this.riders.set(row.rider_id, (plan = { riderId: row.rider_id, stops: [], rows: new Map(), solving: false, again: false, published: '', solvedFrom: '' }));
    plan.rows.set(row.id, { row, status });
    this.riderOf.set(row.id, row.rider_id);
    const s = this.settings;
    if (!PICKED.has(status)) plan.stops.push({ deliveryId: row.id, kind: 'pickup', lat: row.pickup_lat, lng: row.pickup_lng, serviceS: s.pickupDwellS, arrived: false });
    plan.stops.push({ deliveryId: row.id, kind: 'dropoff', lat: row.dropoff_lat, lng: row.dropoff_lng, serviceS: s.dropoffDwellS, arrived: false });
    this.settle(plan);
    // with other work on board the new stops are re-sequenced first; the rider gets the sequence either way
    const sequenced = plan.rows.size >= 2 ? this.replan(row.rider_id, 'assigned') : Promise.resolve();
    void sequenced.finally(() => this.publish(plan, 'assigned'));
  }

  /** A delivery moved in its flow: done stops leave the sequence; a stop the rider reached goes first. */
  update(id: string, status: string, finished: boolean): void {
    const riderId = this.riderOf.get(id);
    const plan = riderId === undefined ? undefined : this.riders.get(riderId);
    if (!plan) return;
    if (finished) {
      plan.rows.delete(id);
      this.riderOf.delete(id);
      plan.stops = plan.stops.filter((s) => s.deliveryId !== id);
    } else {
      const e = plan.rows.get(id);
      if (e) e.status = status;
      if (PICKED.has(status)) plan.stops = plan.stops.filter((s) => !(s.deliveryId === id && s.kind === 'pickup'));
    }
    this.settle(plan);
    if (plan.rows.size === 0) this.riders.delete(plan.riderId);
    void this.publish(plan, 'progress');
  }

  /** Marks the stops the rider is at and moves them first (a rider may reach a stop out of the planned order). */
  private settle(plan: RiderPlan): void {
    for (const s of plan.stops) s.arrived = AT[plan.rows.get(s.deliveryId)?.status ?? ''] === s.kind;
    const at = plan.stops.filter((s) => s.arrived);
    if (at.length) plan.stops = [...at, ...plan.stops.filter((s) => !s.arrived)];
  }

  /** The started prefix: stops the rider is at, then the first other stop if the rider set off toward it. */
  private started(plan: RiderPlan): Stop[] {
    const out = plan.stops.filter((s) => s.arrived);
    const next = plan.stops[out.length];
    if (next && HEADING[plan.rows.get(next.deliveryId)?.status ?? ''] === next.kind) out.push(next);
    return out;
  }

  /**
   * Seconds of travel a new job (pickup, then drop-off) adds to the rider's current sequence at its cheapest place
   * after the started steps, from the rider's position; undefined when the rider has no stops (or no position).
   */
  insertionS(riderId: string, pickup: LatLng, dropoff: LatLng): number | undefined {
    const plan = this.riders.get(riderId);
    const from = this.deps.position(riderId);
    if (!plan || plan.stops.length === 0 || !from) return undefined;
    const zone = this.zoneOf(riderId) ?? 'default';
    const t = (a: LatLng, b: LatLng): number => this.deps.travelS(riderId, zone, a, b);
    const seq: LatLng[] = [from, ...plan.stops];
    const first = this.started(plan).length; // insert after seq[first] at the earliest
    const pd = t(pickup, dropoff);
    let best = Infinity;
    for (let a = first; a < seq.length; a++) {
      const next = seq[a + 1];
      // pickup and drop-off together between seq[a] and seq[a + 1]
      const together = t(seq[a]!, pickup) + pd + (next ? t(dropoff, next) - t(seq[a]!, next) : 0);
      best = Math.min(best, together);
      if (!next) continue;
      const pickupCost = t(seq[a]!, pickup) + t(pickup, next) - t(seq[a]!, next);
      for (let b = a + 1; b < seq.length; b++) {
        const after = seq[b + 1];
        best = Math.min(best, pickupCost + t(seq[b]!, dropoff) + (after ? t(dropoff, after) - t(seq[b]!, after) : 0));
      }
    }
    return best;
  }

  /** Predicted pickup and drop-off of every delivery of the rider along its sequence. */
  predict(riderId: string): Map<string, Eta> | undefined {
    const plan = this.riders.get(riderId);
    if (!plan) return undefined;
    const zone = this.zoneOf(riderId) ?? 'default';
    return predictAlong(plan.stops, this.deps.position(riderId), (a, b) => this.deps.travelS(riderId, zone, a, b), this.now());
  }

  /**
   * Re-sequences the rider's stops not yet started with the solver. One solve per rider at a time: a request while
   * one runs makes it run once more afterwards. Failures are logged and leave the sequence as it was.
   */
  async replan(riderId: string, reason: 'assigned' | 'periodic'): Promise<void> {
    const plan = this.riders.get(riderId);
    if (!plan || plan.rows.size < 2) return;
    if (plan.solving) {
      plan.again = true;
      return;
    }
    plan.solving = true;
    try {
      do {
        plan.again = false;
        const run = this.lane.then(() => this.solveOnce(plan, reason));
        this.lane = run.catch(() => undefined);
        await run;
      } while (plan.again && !this.closed && this.riders.get(riderId) === plan);
    } catch (err) {
      this.log?.warn({ err: (err as Error).message, riderId }, 'live re-planning failed; the rider keeps its sequence');
    } finally {
      plan.solving = false;
    }
  }

  /** Stops without a promised time get the arrival their place in the current sequence gives them. */
  private promise(plan: RiderPlan): Map<string, Eta> | undefined {
    const etas = this.predict(plan.riderId);
    for (const s of plan.stops) {
      const at = s.kind === 'pickup' ? etas?.get(s.deliveryId)?.pickupAt : etas?.get(s.deliveryId)?.dropoffAt;
      if (s.promisedAt === undefined && at != null) s.promisedAt = at;
    }
    return etas;
  }

  private async solveOnce(plan: RiderPlan, reason: string): Promise<void> {
    if (this.closed || this.riders.get(plan.riderId) !== plan) return;
    const etas = this.promise(plan);
    const fixed = this.started(plan);
    const free = plan.stops.slice(fixed.length);
    if (free.length < 2) return;
    const origin: LatLng | undefined = fixed.length ? fixed[fixed.length - 1] : this.deps.position(plan.riderId);
    if (!origin) return;
    const from = `${key(free)}@${origin.lat.toFixed(3)},${origin.lng.toFixed(3)}`;
    if (reason === 'periodic' && from === plan.solvedFrom) return;
    plan.solvedFrom = from;
    const zone = this.zoneOf(plan.riderId) ?? 'default';
    const travel = (a: LatLng, b: LatLng): number => this.deps.travelS(plan.riderId, zone, a, b);
    // Time windows keep promises: a stop may not arrive later than its promise + dispatch.promiseSlackS, nor later than
    // the current sequence already brings it (so that sequence always stays feasible). Solver time runs from where the
    // free part starts: now + the started prefix (its legs from the rider's position and its service times).
    const now = this.now();
    let startS = 0;
    let at: LatLng | undefined = this.deps.position(plan.riderId);
    for (const s of fixed) {
      if (!s.arrived && at) startS += travel(at, s);
      startS += s.serviceS;
      at = s;
    }
    const slackS = this.settings.promiseSlackS;
    const dueOf = (s: Stop): number => {
      if (slackS <= 0 || s.promisedAt === undefined) return 1e9;
      const current = s.kind === 'pickup' ? etas?.get(s.deliveryId)?.pickupAt : etas?.get(s.deliveryId)?.dropoffAt;
      const latest = Math.max(s.promisedAt + slackS * 1000, current ?? 0);
      return Math.max(0, (latest - now) / 1000 - startS) + 1; // + 1 s: rounding of the published times
    };
    // nodes: 0 = where the free part starts, 1 = the route's end (reached from anywhere at no cost: an open route)
    const nodes: RoutingNode[] = [
      { id: 0, x: origin.lng, y: origin.lat, demand: 0, ready: 0, due: 1e9, service: 0, kind: 'depot', sibling: -1 },
      { id: 1, x: origin.lng, y: origin.lat, demand: 0, ready: 0, due: 1e9, service: 0, kind: 'depot', sibling: -1 },
    ];
    const stopOf: Stop[] = [];
    const pickupNode = new Map<string, number>();
    let capacity = 0;
    for (const s of free) {
      const units = plan.rows.get(s.deliveryId)?.row.units ?? 1;
      const i = nodes.length;
      stopOf[i] = s;
      if (s.kind === 'pickup') {
        pickupNode.set(s.deliveryId, i);
        nodes.push({ id: i, x: s.lng, y: s.lat, demand: units, ready: 0, due: dueOf(s), service: s.serviceS, kind: 'pickup', sibling: -1 });
      } else {
        const p = pickupNode.get(s.deliveryId);
        // goods already on board (picked up, or picked up in the started prefix) ride from the start
        if (p === undefined) capacity += units;
        nodes.push({ id: i, x: s.lng, y: s.lat, demand: p === undefined ? units : -units, ready: 0, due: dueOf(s), service: s.serviceS, kind: p === undefined ? 'single' : 'delivery', sibling: p ?? -1 });
        if (p !== undefined) {
          nodes[p]!.sibling = i;
          capacity += units;
        }
      }
    }
    const n = nodes.length;
    const matrix = new Array<number>(n * n).fill(0);
    for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) if (a !== b && b !== 1) matrix[a * n + b] = travel({ lat: nodes[a]!.y, lng: nodes[a]!.x }, { lat: nodes[b]!.y, lng: nodes[b]!.x });
    const problem: RoutingProblem = { name: `live:${plan.riderId}`, format: 'custom', capacity, fleetSize: 1, nodes, vehicles: [{ start: 0, end: 1, capacity, ready: 0, due: 1e9 }], matrix };
    const costOf = (order: Stop[]): number => {
      let c = 0;
      let at: LatLng = origin;
      for (const s of order) {
        c += travel(at, s);
        at = s;
      }
      return c;
    };
    const before = costOf(free);
    // a rider's handful of stops is solved to the same cost in a few hundred iterations (measured: 2–6 jobs, 500 iterations
    // = the 300 ms result, in 3–50 ms): the iteration cap keeps periodic rounds over many riders cheap, the time limit bounds the rest
    const sol = await solve(problem, { timeLimitMs: this.settings.replanTimeLimitMs, maxIterations: ITERATIONS_PER_STOP * free.length, seed: 1 });
    const solved = (sol.routes[0] ?? []).map((id) => stopOf[id]).filter((s): s is Stop => s !== undefined);
    const after = costOf(solved);
    if (this.closed || this.riders.get(plan.riderId) !== plan || solved.length !== free.length || !(after < before - 1e-6)) return;
    // the rider moved on while the solver ran: keep what is started now, then the solved order of what is still to do
    const current = new Set(plan.stops);
    const nowFixed = this.started(plan);
    const head = new Set(nowFixed);
    const order = [...nowFixed, ...solved.filter((s) => current.has(s) && !head.has(s))];
    for (const s of plan.stops) if (!order.includes(s)) order.push(s);
    plan.stops = order;
    this.log?.info({ riderId: plan.riderId, reason, stops: key(order), travelSBefore: Math.round(before), travelSAfter: Math.round(after), solverMs: sol.timeMs }, 'rider re-planned');
    await this.publish(plan, 'replanned', { before, after, trigger: reason });
  }

  /** Sends the rider its stops when their order or membership changed; then the ETAs follow. */
  private async publish(plan: RiderPlan, reason: 'assigned' | 'progress' | 'replanned', travel?: { before: number; after: number; trigger: string }): Promise<void> {
    if (this.closed) return;
    const k = key(plan.stops);
    this.deps.changed(plan.riderId);
    if (k === plan.published) return;
    plan.published = k;
    const etas = this.promise(plan);
    const now = this.now();
    const stops = plan.stops.map((s) => {
      const row = plan.rows.get(s.deliveryId)?.row;
      const eta = etas?.get(s.deliveryId);
      return {
        deliveryId: s.deliveryId, jobId: row?.job_id ?? null, orderId: row?.order_id ?? null, kind: s.kind, location: { lat: s.lat, lng: s.lng }, arrived: s.arrived,
        arriveAt: iso((s.kind === 'pickup' ? eta?.pickupAt : eta?.dropoffAt) ?? null), serviceS: s.serviceS,
      };
    });
    try {
      await this.db.transaction().execute(async (trx) => {
        await outboxStore.append(trx as unknown as OutboxDb, plan.riderId, topics.fleetOffers(plan.riderId), {
          type: 'dispatch.route', riderId: plan.riderId, reason, stops,
          ...(travel ? { trigger: travel.trigger, travelSBefore: Math.round(travel.before), travelSAfter: Math.round(travel.after) } : {}), at: iso(now),
        }, now);
      });
      this.onCommit();
    } catch (err) {
      plan.published = '';
      this.log?.warn({ err: (err as Error).message, riderId: plan.riderId }, 'route not published');
    }
  }
}

/** Straight-line travel seconds at a speed, times the detour factor. */
export function straightTravelS(a: LatLng, b: LatLng, speedMps: number, detour: number): number {
  return (distanceM(a.lat, a.lng, b.lat, b.lng) * detour) / speedMps;
}
