import { distanceMatrix, type RoutingProblem, type RoutingVehicle } from './problem.js';

const KIND = { depot: 0, single: 1, pickup: 2, delivery: 3, reload: 4 } as const;
export const RELOAD = KIND.reload;

/** One vehicle as the hot loops see it. */
export interface VehicleSpec {
  start: number;
  end: number;
  capacity: number;
  ready: number;
  due: number;
  fixed: number[];
  reloads: number[];
  /** vehicles of one class are interchangeable while empty (recreate evaluates one of them) */
  classId: number;
}

/** Flat arrays of the problem, built once per solve (the hot loops read only these). */
export class Instance {
  readonly n: number;
  readonly d: Float64Array;
  readonly ready: Float64Array;
  readonly due: Float64Array;
  readonly service: Float64Array;
  readonly demand: Float64Array;
  readonly kind: Uint8Array;
  readonly vehicles: VehicleSpec[];
  /** the most vehicles a plan may use */
  readonly fleet: number;
  /** requests: [node] for a customer, [pickup, delivery] for a pair */
  readonly requests: number[][];
  readonly requestOfNode: Int32Array;
  /** 1 for a request pinned in a vehicle's fixed prefix (ruin never takes it out) */
  readonly fixedRequest: Uint8Array;
  /** allowed[v * n + node]: the vehicle has the node's skills */
  private readonly allowed: Uint8Array | undefined;

  constructor(readonly problem: RoutingProblem) {
    const nodes = problem.nodes;
    const n = (this.n = nodes.length);
    if (problem.matrix) {
      if (problem.matrix.length !== n * n) throw new Error(`travel matrix has ${problem.matrix.length} entries, expected ${n * n}`);
      this.d = Float64Array.from(problem.matrix);
    } else this.d = distanceMatrix(nodes);
    this.ready = Float64Array.from(nodes, (x) => x.ready);
    this.due = Float64Array.from(nodes, (x) => x.due);
    this.service = Float64Array.from(nodes, (x) => x.service);
    this.demand = Float64Array.from(nodes, (x) => x.demand);
    this.kind = Uint8Array.from(nodes, (x) => KIND[x.kind]);
    const given: RoutingVehicle[] = problem.vehicles ?? Array.from({ length: problem.fleetSize }, () => ({ start: 0, end: 0, capacity: problem.capacity, ready: nodes[0]!.ready, due: nodes[0]!.due }));
    const classes = new Map<string, number>();
    this.vehicles = given.map((v, vi) => {
      // a vehicle with started steps or its own reload stops is a class of its own
      const key = JSON.stringify([v.start, v.end, v.capacity, v.ready, v.due, [...(v.skills ?? [])].sort(), v.fixed?.length || v.reloads?.length ? vi : -1]);
      if (!classes.has(key)) classes.set(key, classes.size);
      return { start: v.start, end: v.end, capacity: v.capacity, ready: v.ready, due: v.due, fixed: v.fixed ?? [], reloads: v.reloads ?? [], classId: classes.get(key)! };
    });
    this.fleet = this.vehicles.length;
    this.requests = [];
    this.requestOfNode = new Int32Array(n).fill(-1);
    nodes.forEach((node, i) => {
      if (node.kind === 'single') this.requests.push([i]);
      else if (node.kind === 'pickup') this.requests.push([i, node.sibling]);
    });
    this.requests.forEach((req, r) => req.forEach((i) => (this.requestOfNode[i] = r)));
    this.fixedRequest = new Uint8Array(this.requests.length);
    for (const v of this.vehicles) {
      for (const x of v.fixed) {
        const r = this.requestOfNode[x]!;
        if (r >= 0) this.fixedRequest[r] = 1;
        this.due[x] = Infinity; // a started step is where it is: lateness there is a fact, not a choice
      }
    }
    if (nodes.some((x) => x.skills?.length)) {
      this.allowed = new Uint8Array(this.fleet * n);
      given.forEach((v, vi) => {
        const has = new Set(v.skills ?? []);
        nodes.forEach((node, i) => {
          this.allowed![vi * n + i] = (node.skills ?? []).every((x) => has.has(x)) ? 1 : 0;
        });
      });
    }
  }

  dist(a: number, b: number): number {
    return this.d[a * this.n + b]!;
  }

  /** the vehicle has the skills the node needs */
  canServe(vehicle: number, node: number): boolean {
    return this.allowed === undefined || this.allowed[vehicle * this.n + node] === 1;
  }
}

/**
 * One vehicle's visits (its start and end excluded) with the schedule data insertion checks need.
 * Loads: a single visit's goods ride from the start (or the last reload) to it; a pair's from pickup to delivery.
 */
export class Route {
  nodes: number[];
  readonly vehicle: number;
  readonly startNode: number;
  readonly endNode: number;
  readonly ready: number;
  readonly due: number;
  readonly capacity: number;
  /** the first fixedCount visits are pinned (started steps) */
  readonly fixedCount: number;
  /** service start at each visit */
  start: number[] = [];
  /** load after each visit */
  load: number[] = [];
  /** latest service start at each visit that keeps the rest of the route on time */
  latest: number[] = [];
  /** peakBefore[i]: the most carried on any leg from the current trip's start up to the leg into position i */
  peakBefore: number[] = [];
  /** load leaving the start */
  startLoad = 0;
  distance = 0;
  /** visits that belong to requests (reload stops excluded) */
  requestCount = 0;
  hasPairs = false;
  hasReloads = false;

  /** a new empty route for the vehicle (with its started steps and reload stops), or a copy of `from` (clone) */
  constructor(vehicle: number, inst: Instance | undefined, from?: Route) {
    this.vehicle = vehicle;
    if (from) {
      this.startNode = from.startNode;
      this.endNode = from.endNode;
      this.ready = from.ready;
      this.due = from.due;
      this.capacity = from.capacity;
      this.fixedCount = from.fixedCount;
      this.nodes = from.nodes;
      this.startLoad = from.startLoad;
      this.distance = from.distance;
      this.requestCount = from.requestCount;
      this.hasPairs = from.hasPairs;
      this.hasReloads = from.hasReloads;
      return;
    }
    const v = inst!.vehicles[vehicle]!;
    this.startNode = v.start;
    this.endNode = v.end;
    this.ready = v.ready;
    this.due = v.due;
    this.capacity = v.capacity;
    this.fixedCount = v.fixed.length;
    this.nodes = [...v.fixed, ...v.reloads];
    this.update(inst!);
  }

  clone(): Route {
    const r = new Route(this.vehicle, undefined, this);
    r.nodes = this.nodes.slice();
    r.start = this.start.slice();
    r.load = this.load.slice();
    r.latest = this.latest.slice();
    r.peakBefore = this.peakBefore.slice();
    return r;
  }

  get used(): boolean {
    return this.requestCount > 0;
  }

  /** the vehicle may serve this node (skills) */
  canTake(inst: Instance, node: number): boolean {
    return inst.canServe(this.vehicle, node);
  }

  /** Recomputes the schedule; returns false if the route breaks a window, the shift or the capacity. */
  update(inst: Instance): boolean {
    const v = this.nodes;
    const m = v.length;
    const kind = inst.kind;
    const demand = inst.demand;
    const d = inst.d;
    const n = inst.n;
    const readyAt = inst.ready;
    const dueAt = inst.due;
    const service = inst.service;
    let ok = true;
    // goods of single visits are loaded at the start of their trip (the start, or a reload stop)
    const tripLoad = TRIP_LOAD;
    tripLoad.length = 0;
    let acc = 0;
    let pairs = false;
    let reloads = false;
    let requests = 0;
    for (let k = 0; k < m; k++) {
      const kk = kind[v[k]!]!;
      if (kk === KIND.single) acc += demand[v[k]!]!;
      else if (kk === KIND.reload) {
        tripLoad.push(acc);
        acc = 0;
        reloads = true;
      }
      if (kk === KIND.pickup) pairs = true;
      if (kk !== KIND.reload && kk !== KIND.depot) requests++;
    }
    tripLoad.push(acc);
    this.hasPairs = pairs;
    this.hasReloads = reloads;
    this.requestCount = requests;
    let trip = 0;
    let t = this.ready;
    let prev = this.startNode;
    let load = tripLoad[0]!;
    this.startLoad = load;
    if (load > this.capacity + 1e-9) ok = false;
    let dist = 0;
    const start = this.start;
    const loads = this.load;
    const latestAt = this.latest;
    const peakBefore = this.peakBefore;
    // the arrays grow by assignment; only a shorter route truncates them
    if (start.length > m) {
      start.length = m;
      loads.length = m;
      latestAt.length = m;
      peakBefore.length = m + 1;
    }
    let peak = load;
    peakBefore[0] = peak;
    for (let k = 0; k < m; k++) {
      const u = v[k]!;
      const leg = d[prev * n + u]!;
      dist += leg;
      t = Math.max(readyAt[u]!, t + service[prev]! + leg);
      if (t > dueAt[u]! + 1e-9) ok = false;
      start[k] = t;
      const kk = kind[u]!;
      if (kk === KIND.single) load -= demand[u]!;
      else if (kk === KIND.reload) load += tripLoad[++trip]!;
      else load += demand[u]!;
      if (load > this.capacity + 1e-9) ok = false;
      loads[k] = load;
      peak = kk === KIND.reload ? load : Math.max(peak, load);
      peakBefore[k + 1] = peak;
      prev = u;
    }
    const back = d[prev * n + this.endNode]!;
    dist += back;
    if (t + service[prev]! + back > this.due + 1e-9 && m > 0) ok = false;
    this.distance = m === 0 ? 0 : dist;
    let latest = this.due;
    let next = this.endNode;
    for (let k = m - 1; k >= 0; k--) {
      const u = v[k]!;
      latest = Math.min(dueAt[u]!, latest - d[u * n + next]! - service[u]!);
      latestAt[k] = latest;
      next = u;
    }
    return ok;
  }
}

/** scratch for Route.update (one solve per thread, never re-entered) */
const TRIP_LOAD: number[] = [];

export interface Insertion {
  cost: number;
  /** position of the first node (before nodes[i]) */
  i: number;
  /** for a pair: the delivery goes before original nodes[j] (j >= i; j === i means right after the pickup) */
  j: number;
}

const NONE: Insertion = { cost: Infinity, i: -1, j: -1 };

/** SISR's blinks: each position that would become the best is skipped with probability `rate` (a little randomness). */
export interface Blink {
  rate: number;
  next: () => number;
}

/** Cheapest feasible insertion of a request into a route (Infinity if none). */
export function bestInsertion(inst: Instance, route: Route, request: number[], blink?: Blink): Insertion {
  return request.length === 1 ? insertSingle(inst, route, request[0]!, blink) : insertPair(inst, route, request[0]!, request[1]!, blink);
}

function insertSingle(inst: Instance, r: Route, u: number, blink: Blink | undefined): Insertion {
  if (!r.canTake(inst, u)) return NONE;
  const v = r.nodes;
  const m = v.length;
  const Q = r.capacity;
  const qu = inst.demand[u]!;
  let bestCost = Infinity;
  let bestI = -1;
  for (let i = r.fixedCount; i <= m; i++) {
    const prev = i === 0 ? r.startNode : v[i - 1]!;
    const prevDep = i === 0 ? r.ready : r.start[i - 1]! + inst.service[prev]!;
    // its goods ride every leg of the trip up to it
    if (r.peakBefore[i]! + qu > Q + 1e-9) continue;
    const tu = Math.max(inst.ready[u]!, prevDep + inst.dist(prev, u));
    if (tu > inst.due[u]! + 1e-9) break; // later positions only start later
    const next = i === m ? r.endNode : v[i]!;
    const latestNext = i === m ? r.due : r.latest[i]!;
    if (tu + inst.service[u]! + inst.dist(u, next) > latestNext + 1e-9) continue;
    const cost = inst.dist(prev, u) + inst.dist(u, next) - inst.dist(prev, next);
    if (cost < bestCost && !(blink && blink.next() < blink.rate)) {
      bestCost = cost;
      bestI = i;
    }
  }
  return bestI < 0 ? NONE : { cost: bestCost, i: bestI, j: bestI };
}

function insertPair(inst: Instance, r: Route, p: number, dl: number, blink: Blink | undefined): Insertion {
  if (!r.canTake(inst, p)) return NONE;
  const v = r.nodes;
  const m = v.length;
  const Q = r.capacity;
  const qp = inst.demand[p]!;
  const dueDepot = r.due;
  const end = r.endNode;
  let bestCost = Infinity;
  let bestI = -1;
  let bestJ = -1;
  for (let i = r.fixedCount; i <= m; i++) {
    const prev = i === 0 ? r.startNode : v[i - 1]!;
    const prevDep = i === 0 ? r.ready : r.start[i - 1]! + inst.service[prev]!;
    const loadBefore = i === 0 ? r.startLoad : r.load[i - 1]!;
    if (loadBefore + qp > Q + 1e-9) continue;
    const tp = Math.max(inst.ready[p]!, prevDep + inst.dist(prev, p));
    if (tp > inst.due[p]! + 1e-9) break;
    const nextI = i === m ? end : v[i]!;
    const costP = inst.dist(prev, p) + inst.dist(p, nextI) - inst.dist(prev, nextI);
    if (costP >= bestCost) continue;
    // delivery right after the pickup
    {
      const td = Math.max(inst.ready[dl]!, tp + inst.service[p]! + inst.dist(p, dl));
      if (td <= inst.due[dl]! + 1e-9) {
        const latestNext = i === m ? dueDepot : r.latest[i]!;
        if (td + inst.service[dl]! + inst.dist(dl, nextI) <= latestNext + 1e-9) {
          const cost = inst.dist(prev, p) + inst.dist(p, dl) + inst.dist(dl, nextI) - inst.dist(prev, nextI);
          if (cost < bestCost && !(blink && blink.next() < blink.rate)) {
            bestCost = cost;
            bestI = i;
            bestJ = i;
          }
        }
      }
    }
    // delivery later: walk the visits after the pickup with the shifted schedule
    let t = tp;
    let cur = p;
    for (let k = i; k < m; k++) {
      const u = v[k]!;
      t = Math.max(inst.ready[u]!, t + inst.service[cur]! + inst.dist(cur, u));
      if (t > r.latest[k]! + 1e-9) break;
      if (r.load[k]! + qp > Q + 1e-9) break;
      cur = u;
      const next = k + 1 === m ? end : v[k + 1]!;
      const td = Math.max(inst.ready[dl]!, t + inst.service[u]! + inst.dist(u, dl));
      if (td > inst.due[dl]! + 1e-9) break;
      const latestNext = k + 1 === m ? dueDepot : r.latest[k + 1]!;
      if (td + inst.service[dl]! + inst.dist(dl, next) > latestNext + 1e-9) continue;
      const cost = costP + inst.dist(u, dl) + inst.dist(dl, next) - inst.dist(u, next);
      if (cost < bestCost && !(blink && blink.next() < blink.rate)) {
        bestCost = cost;
        bestI = i;
        bestJ = k + 1;
      }
    }
  }
  return bestI < 0 ? NONE : { cost: bestCost, i: bestI, j: bestJ };
}

/** Applies an insertion found by bestInsertion. */
export function applyInsertion(inst: Instance, route: Route, request: number[], ins: Insertion): void {
  if (request.length === 1) {
    route.nodes.splice(ins.i, 0, request[0]!);
  } else {
    // insert the delivery first (its index refers to the original route), then the pickup
    route.nodes.splice(ins.j, 0, request[1]!);
    route.nodes.splice(ins.i, 0, request[0]!);
  }
  route.update(inst);
}
