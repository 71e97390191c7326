import { applyInsertion, bestInsertion, type Instance, type Route } from './insertion.js';
import type { Solution } from './ruin.js';

/** how many nearest neighbours of a visit the moves look at (granular neighbourhood) */
const NEIGHBOURS = 12;

/** how many nearest pairs a pair exchange tries */
const PAIR_NEIGHBOURS = 8;

/**
 * Local search that polishes a plan after ruin-and-recreate: relocate a visit next to one of its nearest
 * neighbours (same or another route), swap two visits, or-opt (move a string of 2-3 visits after a neighbour), and
 * 2-opt* (exchange the tails of two routes). Pickup-and-delivery pairs move whole: pair relocation (both halves out,
 * back at their cheapest positions in the same or another route) and pair exchange (two pairs of different routes
 * trade routes, each at its cheapest positions there).
 * First improvement, repeated until nothing improves or the deadline. A move is kept only if the changed routes are
 * feasible (Route.update, or the insertion check for pairs), so every constraint the schedule checks (windows,
 * capacity, reloads, skills, fixed prefixes) holds after it.
 */
export class LocalSearch {
  private readonly near: Int32Array[] = [];
  private readonly movable: Uint8Array;
  /** pair requests (not pinned), and for each its nearest pair requests */
  private readonly pairs: number[] = [];
  private readonly nearPairs = new Map<number, number[]>();

  constructor(private readonly inst: Instance) {
    const n = inst.n;
    inst.requests.forEach((req, r) => {
      if (req.length === 2 && !inst.fixedRequest[r]) this.pairs.push(r);
    });
    const pairGap = (a: number, b: number): number => {
      const [pa, da] = inst.requests[a]!;
      const [pb, db] = inst.requests[b]!;
      return inst.dist(pa!, pb!) + inst.dist(pb!, pa!) + inst.dist(da!, db!) + inst.dist(db!, da!);
    };
    for (const a of this.pairs) {
      this.nearPairs.set(a, this.pairs.filter((b) => b !== a).sort((x, y) => pairGap(a, x) - pairGap(a, y)).slice(0, PAIR_NEIGHBOURS));
    }
    this.movable = new Uint8Array(n);
    for (const req of inst.requests) if (req.length === 1) this.movable[req[0]!] = 1;
    for (let u = 0; u < n; u++) {
      if (!this.movable[u]) {
        this.near.push(new Int32Array(0));
        continue;
      }
      const ids: number[] = [];
      for (let v = 0; v < n; v++) if (v !== u && this.movable[v]) ids.push(v);
      ids.sort((a, b) => inst.dist(u, a) - inst.dist(u, b));
      this.near.push(Int32Array.from(ids.slice(0, NEIGHBOURS)));
    }
  }

  /** Improves s in place; returns true if anything changed. */
  improve(s: Solution, deadline: number): boolean {
    const isFixed = (route: Route, pos: number): boolean => pos < route.fixedCount;
    let changed = false;
    let improved = true;
    let guard = 0;
    while (improved && guard++ < 200) {
      improved = false;
      if (Date.now() >= deadline) break;
      const where = new Map<number, { r: number; k: number }>();
      s.routes.forEach((route, r) => route.nodes.forEach((x, k) => where.set(x, { r, k })));
      for (const [u, at] of where) {
        if (!this.movable[u] || isFixed(s.routes[at.r]!, at.k)) continue;
        for (const v of this.near[u]!) {
          const bt = where.get(v);
          if (!bt || isFixed(s.routes[bt.r]!, bt.k)) continue;
          if (this.tryRelocate(s, at, bt) || this.trySwap(s, at, bt) || this.tryOrOpt(s, at, bt) || (at.r !== bt.r && this.tryTwoOptStar(s, at, bt))) {
            improved = changed = true;
            break;
          }
        }
        if (improved) break;
      }
      if (!improved && this.pairs.length > 0 && this.improvePairs(s)) improved = changed = true;
    }
    return changed;
  }

  /** One improving pair relocation or pair exchange (first found), applied; false if there is none. */
  private improvePairs(s: Solution): boolean {
    const inst = this.inst;
    const routeOfNode = new Int32Array(inst.n).fill(-1);
    s.routes.forEach((route, r) => route.nodes.forEach((x, k) => {
      if (k >= route.fixedCount) routeOfNode[x] = r;
    }));
    for (const a of this.pairs) {
      const ra = routeOfNode[inst.requests[a]![0]!]!;
      if (ra < 0) continue;
      if (this.tryPairRelocate(s, a, ra)) return true;
      for (const b of this.nearPairs.get(a)!) {
        const rb = routeOfNode[inst.requests[b]![0]!]!;
        if (rb < 0 || rb === ra) continue;
        if (this.tryPairExchange(s, a, ra, b, rb)) return true;
      }
    }
    return false;
  }

  /** route r without the request's nodes, its schedule recomputed (undefined if that breaks it: a non-metric matrix) */
  private without(s: Solution, r: number, req: number): Route | undefined {
    const [p, d] = this.inst.requests[req]!;
    const route = s.routes[r]!.clone();
    route.nodes = route.nodes.filter((x) => x !== p && x !== d);
    return route.update(this.inst) ? route : undefined;
  }

  /** Pair a leaves its route ra for its cheapest position in any route in use (ra included) if that is shorter. */
  private tryPairRelocate(s: Solution, a: number, ra: number): boolean {
    const inst = this.inst;
    const request = inst.requests[a]!;
    const rest = this.without(s, ra, a);
    if (!rest) return false;
    const gain = s.routes[ra]!.distance - rest.distance;
    let bestCost = gain - 1e-7;
    let bestRoute = -1;
    let bestIns: ReturnType<typeof bestInsertion> | undefined;
    for (let r = 0; r < s.routes.length; r++) {
      const target = r === ra ? rest : s.routes[r]!;
      if (!target.used && r !== ra) continue;
      const ins = bestInsertion(inst, target, request);
      if (ins.cost < bestCost) {
        bestCost = ins.cost;
        bestRoute = r;
        bestIns = ins;
      }
    }
    if (!bestIns) return false;
    if (bestRoute === ra) {
      applyInsertion(inst, rest, request, bestIns);
      s.routes[ra] = rest;
    } else {
      const target = s.routes[bestRoute]!.clone();
      applyInsertion(inst, target, request, bestIns);
      s.routes[ra] = rest;
      s.routes[bestRoute] = target;
    }
    return true;
  }

  /** Pairs a (route ra) and b (route rb) trade routes, each at its cheapest position there, if that is shorter. */
  private tryPairExchange(s: Solution, a: number, ra: number, b: number, rb: number): boolean {
    const inst = this.inst;
    const restA = this.without(s, ra, a);
    const restB = this.without(s, rb, b);
    if (!restA || !restB) return false;
    const before = s.routes[ra]!.distance + s.routes[rb]!.distance;
    const insB = bestInsertion(inst, restA, inst.requests[b]!);
    if (insB.cost === Infinity || restA.distance + restB.distance + insB.cost >= before - 1e-7) return false;
    const insA = bestInsertion(inst, restB, inst.requests[a]!);
    if (restA.distance + restB.distance + insB.cost + insA.cost >= before - 1e-7) return false;
    applyInsertion(inst, restA, inst.requests[b]!, insB);
    applyInsertion(inst, restB, inst.requests[a]!, insA);
    s.routes[ra] = restA;
    s.routes[rb] = restB;
    return true;
  }

  private prev(route: Route, k: number): number {
    return k === 0 ? route.startNode : route.nodes[k - 1]!;
  }

  private next(route: Route, k: number): number {
    return k === route.nodes.length - 1 ? route.endNode : route.nodes[k + 1]!;
  }

  /** Commits new node lists to one or two routes if they are feasible and shorter. */
  private commit(s: Solution, changes: { r: number; nodes: number[] }[], before: number): boolean {
    const inst = this.inst;
    const trial = changes.map((c) => {
      const route = s.routes[c.r]!.clone();
      route.nodes = c.nodes;
      return { r: c.r, route, ok: route.update(inst) };
    });
    if (trial.some((t) => !t.ok)) return false;
    const after = trial.reduce((a, t) => a + t.route.distance, 0);
    if (after > before - 1e-7) return false;
    for (const t of trial) s.routes[t.r] = t.route;
    return true;
  }

  /** u moves to right after v, or right before v. */
  private tryRelocate(s: Solution, at: { r: number; k: number }, bt: { r: number; k: number }): boolean {
    const inst = this.inst;
    const A = s.routes[at.r]!;
    const B = s.routes[bt.r]!;
    const u = A.nodes[at.k]!;
    const v = B.nodes[bt.k]!;
    const pu = this.prev(A, at.k);
    const nu = this.next(A, at.k);
    const removeGain = inst.dist(pu, u) + inst.dist(u, nu) - inst.dist(pu, nu);
    for (const after of [true, false]) {
      const a = after ? v : this.prev(B, bt.k);
      const b = after ? this.next(B, bt.k) : v;
      if (a === u || b === u) continue;
      const addCost = inst.dist(a, u) + inst.dist(u, b) - inst.dist(a, b);
      if (addCost - removeGain > -1e-7) continue;
      if (!B.canTake(inst, u)) continue;
      if (at.r === bt.r) {
        const nodes = A.nodes.slice();
        nodes.splice(at.k, 1);
        let pos = nodes.indexOf(v);
        if (after) pos++;
        if (pos < A.fixedCount) continue;
        nodes.splice(pos, 0, u);
        if (this.commit(s, [{ r: at.r, nodes }], A.distance)) return true;
      } else {
        const pos = after ? bt.k + 1 : bt.k;
        if (pos < B.fixedCount) continue;
        const na = A.nodes.slice();
        na.splice(at.k, 1);
        const nb = B.nodes.slice();
        nb.splice(pos, 0, u);
        if (this.commit(s, [{ r: at.r, nodes: na }, { r: bt.r, nodes: nb }], A.distance + B.distance)) return true;
      }
    }
    return false;
  }

  /** or-opt: the string of 2 or 3 visits starting at u moves, in its order, to right after v (same or another route). */
  private tryOrOpt(s: Solution, at: { r: number; k: number }, bt: { r: number; k: number }): boolean {
    const inst = this.inst;
    const A = s.routes[at.r]!;
    const B = s.routes[bt.r]!;
    for (const len of [2, 3]) {
      const end = at.k + len - 1;
      if (end >= A.nodes.length) return false;
      const seg = A.nodes.slice(at.k, end + 1);
      if (!seg.every((x) => this.movable[x])) return false;
      if (at.r === bt.r && bt.k >= at.k - 1 && bt.k <= end) continue;
      const pu = this.prev(A, at.k);
      const nu = this.next(A, end);
      const v = B.nodes[bt.k]!;
      const nv = this.next(B, bt.k);
      const delta = inst.dist(v, seg[0]!) + inst.dist(seg[len - 1]!, nv) - inst.dist(v, nv) - (inst.dist(pu, seg[0]!) + inst.dist(seg[len - 1]!, nu) - inst.dist(pu, nu));
      if (delta > -1e-7) continue;
      if (bt.k + 1 < B.fixedCount) continue;
      if (at.r !== bt.r && !seg.every((x) => B.canTake(inst, x))) continue;
      if (at.r === bt.r) {
        const rest = A.nodes.slice(0, at.k).concat(A.nodes.slice(end + 1));
        const pos = rest.indexOf(v) + 1;
        const nodes = rest.slice(0, pos).concat(seg, rest.slice(pos));
        if (this.commit(s, [{ r: at.r, nodes }], A.distance)) return true;
      } else {
        const na = A.nodes.slice(0, at.k).concat(A.nodes.slice(end + 1));
        const nb = B.nodes.slice(0, bt.k + 1).concat(seg, B.nodes.slice(bt.k + 1));
        if (this.commit(s, [{ r: at.r, nodes: na }, { r: bt.r, nodes: nb }], A.distance + B.distance)) return true;
      }
    }
    return false;
  }

  /** u and v trade places (only across routes or non-adjacent in one route). */
  private trySwap(s: Solution, at: { r: number; k: number }, bt: { r: number; k: number }): boolean {
    const inst = this.inst;
    if (at.r === bt.r && Math.abs(at.k - bt.k) <= 1) return false;
    const A = s.routes[at.r]!;
    const B = s.routes[bt.r]!;
    const u = A.nodes[at.k]!;
    const v = B.nodes[bt.k]!;
    const pu = this.prev(A, at.k);
    const nu = this.next(A, at.k);
    const pv = this.prev(B, bt.k);
    const nv = this.next(B, bt.k);
    const delta = inst.dist(pu, v) + inst.dist(v, nu) - inst.dist(pu, u) - inst.dist(u, nu) + inst.dist(pv, u) + inst.dist(u, nv) - inst.dist(pv, v) - inst.dist(v, nv);
    if (delta > -1e-7) return false;
    if (at.r === bt.r) {
      const nodes = A.nodes.slice();
      nodes[at.k] = v;
      nodes[bt.k] = u;
      return this.commit(s, [{ r: at.r, nodes }], A.distance);
    }
    if (!A.canTake(inst, v) || !B.canTake(inst, u)) return false;
    const na = A.nodes.slice();
    na[at.k] = v;
    const nb = B.nodes.slice();
    nb[bt.k] = u;
    return this.commit(s, [{ r: at.r, nodes: na }, { r: bt.r, nodes: nb }], A.distance + B.distance);
  }

  /** 2-opt*: A keeps its head up to u then takes B's tail after v; B keeps its head up to v then takes A's tail after u. */
  private tryTwoOptStar(s: Solution, at: { r: number; k: number }, bt: { r: number; k: number }): boolean {
    const inst = this.inst;
    const A = s.routes[at.r]!;
    const B = s.routes[bt.r]!;
    if (A.hasPairs || B.hasPairs || A.hasReloads || B.hasReloads || A.endNode !== B.endNode) return false;
    const u = A.nodes[at.k]!;
    const v = B.nodes[bt.k]!;
    const nu = this.next(A, at.k);
    const nv = this.next(B, bt.k);
    const delta = inst.dist(u, nv) + inst.dist(v, nu) - inst.dist(u, nu) - inst.dist(v, nv);
    if (delta > -1e-7) return false;
    const tailA = A.nodes.slice(at.k + 1);
    const tailB = B.nodes.slice(bt.k + 1);
    if (at.k + 1 < A.fixedCount || bt.k + 1 < B.fixedCount) return false;
    if (!tailB.every((x) => A.canTake(inst, x)) || !tailA.every((x) => B.canTake(inst, x))) return false;
    const na = A.nodes.slice(0, at.k + 1).concat(tailB);
    const nb = B.nodes.slice(0, bt.k + 1).concat(tailA);
    return this.commit(s, [{ r: at.r, nodes: na }, { r: bt.r, nodes: nb }], A.distance + B.distance);
  }
}
