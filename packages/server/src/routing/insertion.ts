import { distanceMatrix, type RoutingProblem } from './problem.js';

/** Flat arrays of the problem, built once per solve (the hot loops read only these). */
export class Instance {
  readonly n: number;
  readonly d: Float64Array;
  readonly ready: Float64Array;
  readonly due: Float64Array;
  readonly service: Float64Array;
  readonly demand: Float64Array;
  readonly capacity: number;
  readonly fleet: number;
  /** requests: [node] for a customer, [pickup, delivery] for a pair */
  readonly requests: number[][];
  readonly requestOfNode: Int32Array;

  constructor(readonly problem: RoutingProblem) {
    const nodes = problem.nodes;
    this.n = nodes.length;
    this.d = distanceMatrix(nodes);
    this.ready = Float64Array.from(nodes, (x) => x.ready);
    this.due = Float64Array.from(nodes, (x) => x.due);
    this.service = Float64Array.from(nodes, (x) => x.service);
    this.demand = Float64Array.from(nodes, (x) => x.demand);
    this.capacity = problem.capacity;
    this.fleet = problem.fleetSize;
    this.requests = [];
    this.requestOfNode = new Int32Array(this.n).fill(-1);
    nodes.forEach((node, i) => {
      if (node.kind === 'single') this.requests.push([i]);
      else if (node.kind === 'pickup') this.requests.push([i, node.sibling]);
    });
    this.requests.forEach((req, r) => req.forEach((i) => (this.requestOfNode[i] = r)));
  }

  dist(a: number, b: number): number {
    return this.d[a * this.n + b]!;
  }
}

/** One vehicle's visits (depot excluded) with the schedule data insertion checks need. */
export class Route {
  nodes: number[];
  /** service start at each visit */
  start: number[] = [];
  /** load after each visit */
  load: number[] = [];
  /** latest service start at each visit that keeps the rest of the route on time */
  latest: number[] = [];
  /** max load over visits k..end */
  maxLoadFrom: number[] = [];
  distance = 0;

  constructor(nodes: number[], inst: Instance) {
    this.nodes = nodes;
    this.update(inst);
  }

  clone(): Route {
    const r = Object.create(Route.prototype) as Route;
    r.nodes = this.nodes.slice();
    r.start = this.start.slice();
    r.load = this.load.slice();
    r.latest = this.latest.slice();
    r.maxLoadFrom = this.maxLoadFrom.slice();
    r.distance = this.distance;
    return r;
  }

  /** Recomputes the schedule; returns false if the route breaks a window or the capacity. */
  update(inst: Instance): boolean {
    const v = this.nodes;
    const m = v.length;
    let ok = true;
    let t = inst.ready[0]!;
    let prev = 0;
    let load = 0;
    let dist = 0;
    this.start.length = m;
    this.load.length = m;
    this.latest.length = m;
    this.maxLoadFrom.length = m;
    for (let k = 0; k < m; k++) {
      const u = v[k]!;
      const leg = inst.dist(prev, u);
      dist += leg;
      t = Math.max(inst.ready[u]!, t + (prev === 0 ? 0 : inst.service[prev]!) + leg);
      if (t > inst.due[u]! + 1e-9) ok = false;
      this.start[k] = t;
      load += inst.demand[u]!;
      if (load > inst.capacity + 1e-9) ok = false;
      this.load[k] = load;
      prev = u;
    }
    dist += inst.dist(prev, 0);
    this.distance = m === 0 ? 0 : dist;
    let latest = inst.due[0]!;
    let next = 0;
    let maxLoad = -Infinity;
    for (let k = m - 1; k >= 0; k--) {
      const u = v[k]!;
      latest = Math.min(inst.due[u]!, latest - inst.dist(u, next) - inst.service[u]!);
      this.latest[k] = latest;
      maxLoad = Math.max(maxLoad, this.load[k]!);
      this.maxLoadFrom[k] = maxLoad;
      next = u;
    }
    if (m > 0 && this.start[m - 1]! + inst.service[v[m - 1]!]! + inst.dist(v[m - 1]!, 0) > inst.due[0]! + 1e-9) ok = false;
    return ok;
  }
}

export interface Insertion {
  cost: number;
  /** position of the first node (before nodes[i]) */
  i: number;
  /** for a pair: the delivery goes before original nodes[j] (j >= i; j === i means right after the pickup) */
  j: number;
}

const NONE: Insertion = { cost: Infinity, i: -1, j: -1 };

/** Cheapest feasible insertion of a request into a route (Infinity if none). */
export function bestInsertion(inst: Instance, route: Route, request: number[]): Insertion {
  return request.length === 1 ? insertSingle(inst, route, request[0]!) : insertPair(inst, route, request[0]!, request[1]!);
}

function insertSingle(inst: Instance, r: Route, u: number): Insertion {
  const v = r.nodes;
  const m = v.length;
  const Q = inst.capacity;
  const qu = inst.demand[u]!;
  let best = NONE;
  for (let i = 0; i <= m; i++) {
    const prev = i === 0 ? 0 : v[i - 1]!;
    const prevDep = i === 0 ? inst.ready[0]! : r.start[i - 1]! + inst.service[prev]!;
    const loadBefore = i === 0 ? 0 : r.load[i - 1]!;
    if (loadBefore + qu > Q + 1e-9) continue;
    if (i < m && r.maxLoadFrom[i]! + qu > Q + 1e-9) continue;
    const tu = Math.max(inst.ready[u]!, prevDep + inst.dist(prev, u));
    if (tu > inst.due[u]! + 1e-9) break; // later positions only start later
    const next = i === m ? 0 : v[i]!;
    const latestNext = i === m ? inst.due[0]! : r.latest[i]!;
    if (tu + inst.service[u]! + inst.dist(u, next) > latestNext + 1e-9) continue;
    const cost = inst.dist(prev, u) + inst.dist(u, next) - inst.dist(prev, next);
    if (cost < best.cost) best = { cost, i, j: i };
  }
  return best;
}

function insertPair(inst: Instance, r: Route, p: number, dl: number): Insertion {
  const v = r.nodes;
  const m = v.length;
  const Q = inst.capacity;
  const qp = inst.demand[p]!;
  const dueDepot = inst.due[0]!;
  let best = NONE;
  for (let i = 0; i <= m; i++) {
    const prev = i === 0 ? 0 : v[i - 1]!;
    const prevDep = i === 0 ? inst.ready[0]! : r.start[i - 1]! + inst.service[prev]!;
    const loadBefore = i === 0 ? 0 : r.load[i - 1]!;
    if (loadBefore + qp > Q + 1e-9) continue;
    const tp = Math.max(inst.ready[p]!, prevDep + inst.dist(prev, p));
    if (tp > inst.due[p]! + 1e-9) break;
    const nextI = i === m ? 0 : v[i]!;
    const costP = inst.dist(prev, p) + inst.dist(p, nextI) - inst.dist(prev, nextI);
    if (costP >= best.cost) continue;
    // delivery right after the pickup
    {
      const td = Math.max(inst.ready[dl]!, tp + inst.service[p]! + inst.dist(p, dl));
      if (td <= inst.due[dl]! + 1e-9) {
        const latestNext = i === m ? dueDepot : r.latest[i]!;
        if (td + inst.service[dl]! + inst.dist(dl, nextI) <= latestNext + 1e-9) {
          const cost = inst.dist(prev, p) + inst.dist(p, dl) + inst.dist(dl, nextI) - inst.dist(prev, nextI);
          if (cost < best.cost) best = { cost, i, j: i };
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
      const next = k + 1 === m ? 0 : v[k + 1]!;
      const td = Math.max(inst.ready[dl]!, t + inst.service[u]! + inst.dist(u, dl));
      if (td > inst.due[dl]! + 1e-9) break;
      const latestNext = k + 1 === m ? dueDepot : r.latest[k + 1]!;
      if (td + inst.service[dl]! + inst.dist(dl, next) > latestNext + 1e-9) continue;
      const cost = costP + inst.dist(u, dl) + inst.dist(dl, next) - inst.dist(u, next);
      if (cost < best.cost) best = { cost, i, j: k + 1 };
    }
  }
  return best;
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
