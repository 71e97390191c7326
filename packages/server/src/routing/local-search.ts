import type { Instance, Route } from './insertion.js';
import type { Solution } from './ruin.js';

/** how many nearest neighbours of a visit the moves look at (granular neighbourhood) */
const NEIGHBOURS = 12;

/**
 * Local search that polishes a plan after ruin-and-recreate: relocate a visit next to one of its nearest
 * neighbours (same or another route), swap two visits, or-opt (move a string of 2-3 visits after a neighbour), and
 * 2-opt* (exchange the tails of two routes).
 * First improvement, repeated until nothing improves or the deadline. Only single-visit requests move
 * (a pickup/delivery pair stays where recreate put it: moving one half alone would break precedence), and a
 * move is kept only if Route.update finds the changed routes feasible, so every constraint the schedule
 * checks (windows, capacity, reloads, skills, fixed prefixes) holds after it.
 */
export class LocalSearch {
  private readonly near: Int32Array[] = [];
  private readonly movable: Uint8Array;

  constructor(private readonly inst: Instance) {
    const n = inst.n;
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
    }
    return changed;
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
