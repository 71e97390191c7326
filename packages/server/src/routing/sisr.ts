import { applyInsertion, bestInsertion, type Blink, type Insertion, type Instance, type Route } from './insertion.js';
import type { SeededRandom } from './random.js';
import type { Solution } from './ruin.js';

/** SISR's parameters (Christiaens & Vanden Berghe 2020, table 6): average customers removed, longest string, blink rate */
const AVG_REMOVED = 10;
const MAX_STRING = 10;
const BLINK_RATE = 0.01;
/** share of string removals that keep a run of visits inside the removed string ("split string") */
const SPLIT_RATE = 0.5;
/** recreate orders and their weights: random, demand (largest first), far from the depot, close to it, narrow window,
 * early window */
const ORDER_WEIGHTS = [4, 4, 2, 1, 2, 2];
/** how many nearest visits a ruin may look through for routes to cut strings from */
const ADJACENT = 100;

/**
 * Slack Induction by String Removals (Christiaens & Vanden Berghe 2020): the ruin takes short strings of consecutive
 * visits out of a few routes near a random visit; the recreate puts the requests back one by one, in a sorted order,
 * each at its cheapest position (with blinks: a position is skipped now and then). Cheap enough for tens of
 * thousands of iterations a second on 100 customers, which is what lets simulated annealing work.
 *
 * A candidate shares unchanged routes with the plan it comes from: `own` clones a route before the first change in an
 * iteration (copy on write), so ruin and recreate cost what they touch, not the whole plan.
 */
export class StringSearch {
  /** nodes by distance from each node, nearest first (request nodes only) */
  private readonly adjacency: Int32Array[];
  private readonly routeOf: Int32Array;
  private readonly posOf: Int32Array;
  private owned: Uint8Array = new Uint8Array(0);
  private readonly blink: Blink;
  private readonly orderTotal = ORDER_WEIGHTS.reduce((a, b) => a + b, 0);
  private readonly keys: Float64Array;
  /** scratch: 1 for the nodes a ruin takes out */
  private readonly drop: Uint8Array;

  constructor(
    private readonly inst: Instance,
    private readonly rnd: SeededRandom,
    /** the plan's weighted cost (vehicles, distance, requests left out) */
    private readonly cost: (s: Solution) => number,
  ) {
    const n = inst.n;
    this.routeOf = new Int32Array(n);
    this.posOf = new Int32Array(n);
    this.keys = new Float64Array(inst.requests.length);
    this.drop = new Uint8Array(n);
    const requestNodes: number[] = [];
    for (let u = 0; u < n; u++) if (inst.requestOfNode[u]! >= 0) requestNodes.push(u);
    // the nearest ADJACENT request nodes of each (a ruin rarely looks further); the threshold comes from a native sort
    const near = (u: number, v: number): number => inst.dist(u, v) + inst.dist(v, u);
    const gaps = new Float64Array(requestNodes.length);
    this.adjacency = [];
    for (let u = 0; u < n; u++) {
      if (inst.requestOfNode[u]! < 0) {
        this.adjacency.push(new Int32Array(0));
        continue;
      }
      requestNodes.forEach((v, k) => (gaps[k] = v === u ? Infinity : near(u, v)));
      const limit = gaps.slice().sort()[Math.min(ADJACENT, requestNodes.length) - 1]!;
      const ids = requestNodes.filter((v, k) => v !== u && gaps[k]! <= limit).sort((a, b) => near(u, a) - near(u, b) || a - b);
      this.adjacency.push(Int32Array.from(ids.slice(0, ADJACENT)));
    }
    this.blink = { rate: BLINK_RATE, next: () => rnd.next() };
  }

  /** A candidate: the plan's route list with every route shared until `own` clones it. */
  fork(s: Solution): Solution {
    if (this.owned.length !== s.routes.length) this.owned = new Uint8Array(s.routes.length);
    else this.owned.fill(0);
    return { routes: s.routes.slice(), unassigned: s.unassigned.slice(), cost: s.cost };
  }

  private own(s: Solution, ri: number): Route {
    if (!this.owned[ri]) {
      s.routes[ri] = s.routes[ri]!.clone();
      this.owned[ri] = 1;
    }
    return s.routes[ri]!;
  }

  /** String removal: up to a few routes near a random visit each lose a string (or a split string) of visits. */
  ruin(s: Solution): void {
    const inst = this.inst;
    const routeOf = this.routeOf;
    const posOf = this.posOf;
    routeOf.fill(-1);
    let assigned = 0;
    let used = 0;
    for (let ri = 0; ri < s.routes.length; ri++) {
      const r = s.routes[ri]!;
      if (!r.used) continue;
      used++;
      const v = r.nodes;
      for (let k = r.fixedCount; k < v.length; k++) {
        const x = v[k]!;
        const req = inst.requestOfNode[x]!;
        if (req < 0 || inst.fixedRequest[req]) continue;
        routeOf[x] = ri;
        posOf[x] = k;
        assigned++;
      }
    }
    if (assigned === 0) return;
    const lsMax = Math.min(MAX_STRING, assigned / used);
    const ksMax = (4 * AVG_REMOVED) / (1 + lsMax) - 1;
    const ks = Math.max(1, Math.floor(this.rnd.next() * ksMax) + 1);
    // the seed: a random removable visit
    let seed = -1;
    for (let tries = 0; tries < 50 && seed < 0; tries++) {
      const x = 1 + this.rnd.int(inst.n - 1);
      if (routeOf[x]! >= 0) seed = x;
    }
    if (seed < 0) for (let x = 0; x < inst.n && seed < 0; x++) if (routeOf[x]! >= 0) seed = x;
    const ruined: number[] = [];
    const remove = new Set<number>();
    const adj = this.adjacency[seed]!;
    for (let h = -1; h < adj.length && ruined.length < ks; h++) {
      const c = h < 0 ? seed : adj[h]!;
      const ri = routeOf[c]!;
      if (ri < 0 || ruined.includes(ri) || remove.has(inst.requestOfNode[c]!)) continue;
      ruined.push(ri);
      const r = s.routes[ri]!;
      const len = r.nodes.length - r.fixedCount;
      const lMax = Math.max(1, Math.min(len, Math.floor(lsMax)));
      const l = 1 + this.rnd.int(lMax);
      const at = posOf[c]! - r.fixedCount;
      if (l < len && this.rnd.next() < SPLIT_RATE) {
        // split string: l + m consecutive visits around c, of which a run of m in the middle stays
        let m = 1;
        while (l + m < len && this.rnd.next() < 0.5) m++;
        const span = l + m;
        const lo = Math.max(0, Math.min(at - this.rnd.int(span), len - span));
        const keepFrom = lo + 1 + this.rnd.int(Math.max(1, l));
        for (let k = lo; k < lo + span; k++) if (k < keepFrom || k >= keepFrom + m) this.take(r.nodes[r.fixedCount + k]!, remove);
      } else {
        const lo = Math.max(0, Math.min(at - this.rnd.int(l), len - l));
        for (let k = lo; k < lo + l; k++) this.take(r.nodes[r.fixedCount + k]!, remove);
      }
    }
    if (remove.size === 0) return;
    const drop = this.drop;
    for (const req of remove) {
      for (const x of inst.requests[req]!) drop[x] = 1;
      s.unassigned.push(req);
    }
    // a pair's other half may sit in a route that was not ruined
    for (let ri = 0; ri < s.routes.length; ri++) {
      const r = s.routes[ri]!;
      if (!r.used || !r.nodes.some((x) => drop[x] === 1)) continue;
      const own = this.own(s, ri);
      own.nodes = own.nodes.filter((x) => drop[x] !== 1);
      own.update(inst);
    }
    for (const req of remove) for (const x of inst.requests[req]!) drop[x] = 0;
  }

  private take(node: number, remove: Set<number>): void {
    const req = this.inst.requestOfNode[node]!;
    if (req >= 0 && !this.inst.fixedRequest[req]) remove.add(req);
  }

  /**
   * Puts every unassigned request back, one by one in a sorted order, each in its cheapest position over the routes in
   * use; only a request no route in use can take opens a vehicle (at most `routeCap` in use). With `absences` (fleet
   * minimisation) the requests left out most often go first.
   */
  recreate(s: Solution, routeCap: number, absences?: Int32Array): void {
    const inst = this.inst;
    const pending = s.unassigned;
    s.unassigned = [];
    this.sort(pending, absences);
    let inUse = 0;
    for (const r of s.routes) if (r.used) inUse++;
    for (const req of pending) {
      const request = inst.requests[req]!;
      let best: Insertion | undefined;
      let bestRoute = -1;
      for (let ri = 0; ri < s.routes.length; ri++) {
        const r = s.routes[ri]!;
        if (!r.used) continue;
        const ins = bestInsertion(inst, r, request, this.blink);
        if (ins.cost < (best?.cost ?? Infinity)) {
          best = ins;
          bestRoute = ri;
        }
      }
      if (!best && inUse < routeCap) {
        // a new vehicle: one of each class that is free
        const seen = new Set<number>();
        for (let ri = 0; ri < s.routes.length; ri++) {
          const r = s.routes[ri]!;
          if (r.used) continue;
          const c = inst.vehicles[r.vehicle]!.classId;
          if (seen.has(c)) continue;
          seen.add(c);
          const ins = bestInsertion(inst, r, request);
          if (ins.cost < (best?.cost ?? Infinity)) {
            best = ins;
            bestRoute = ri;
          }
        }
        if (best) inUse++;
      }
      if (!best) {
        s.unassigned.push(req);
        continue;
      }
      applyInsertion(inst, this.own(s, bestRoute), request, best);
    }
    s.cost = this.cost(s);
  }

  private sort(pending: number[], absences: Int32Array | undefined): void {
    const inst = this.inst;
    const keys = this.keys;
    let x = this.rnd.next() * this.orderTotal;
    let order = 0;
    while (order < ORDER_WEIGHTS.length - 1 && (x -= ORDER_WEIGHTS[order]!) > 0) order++;
    for (const req of pending) {
      const u = inst.requests[req]![0]!;
      const w = inst.requests[req]![inst.requests[req]!.length - 1]!;
      let key: number;
      if (order === 0) key = this.rnd.next();
      else if (order === 1) key = -Math.abs(inst.demand[u]!);
      else if (order === 2) key = -(inst.dist(0, u) + inst.dist(w, 0));
      else if (order === 3) key = inst.dist(0, u) + inst.dist(w, 0);
      else if (order === 4) key = inst.due[u]! - inst.ready[u]!;
      else key = inst.ready[u]!;
      keys[req] = key;
    }
    if (absences) pending.sort((a, b) => absences[b]! - absences[a]! || keys[a]! - keys[b]! || a - b);
    else pending.sort((a, b) => keys[a]! - keys[b]! || a - b);
  }
}
