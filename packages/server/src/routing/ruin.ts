import type { Instance, Route } from './insertion.js';
import type { SeededRandom } from './random.js';

/** A plan during the search: routes, the requests left out, and its weighted cost. */
export interface Solution {
  routes: Route[];
  unassigned: number[];
  cost: number;
}

/**
 * The ruin half of ruin-and-recreate: each operator takes about q requests out of a plan (into `unassigned`).
 * Removing visits never breaks a window or the capacity, so the routes stay feasible.
 */
export class Ruin {
  /** relatedness of requests (distance of their nodes plus start-time gap), row-major */
  private relatedMatrix: Float64Array | undefined;

  constructor(
    private readonly inst: Instance,
    private readonly rnd: SeededRandom,
  ) {}

  removeRequests(s: Solution, reqs: Iterable<number>): void {
    const inst = this.inst;
    const drop = new Set<number>();
    for (const r of reqs) {
      if (r < 0 || inst.fixedRequest[r]) continue; // a reload stop or a started step stays
      for (const node of inst.requests[r]!) drop.add(node);
      s.unassigned.push(r);
    }
    for (const route of s.routes) {
      const before = route.nodes.length;
      route.nodes = route.nodes.filter((x) => !drop.has(x));
      if (route.nodes.length !== before) route.update(inst);
    }
  }

  /** requests on some route that ruin may take out (not pinned) */
  private assignedRequests(s: Solution): number[] {
    const inst = this.inst;
    const out: number[] = [];
    for (const r of s.routes) {
      for (const node of r.nodes) {
        const k = inst.kind[node]!;
        const req = inst.requestOfNode[node]!;
        if ((k === 1 || k === 2) && !inst.fixedRequest[req]) out.push(req);
      }
    }
    return out;
  }

  random(s: Solution, q: number): void {
    const all = this.assignedRequests(s);
    const chosen: number[] = [];
    for (let h = 0; h < q && all.length > 0; h++) chosen.push(all.splice(this.rnd.int(all.length), 1)[0]!);
    this.removeRequests(s, chosen);
  }

  private relatednessOf(a: number, b: number): number {
    const inst = this.inst;
    if (!this.relatedMatrix) {
      const R = inst.requests.length;
      const rel = new Float64Array(R * R);
      let maxD = 0;
      let maxT = 0;
      for (const v of inst.d) maxD = Math.max(maxD, v);
      for (let i = 1; i < inst.n; i++) if (Number.isFinite(inst.due[i]!)) maxT = Math.max(maxT, inst.due[i]!);
      for (let x = 0; x < R; x++) {
        for (let y = x + 1; y < R; y++) {
          const rx = inst.requests[x]!;
          const ry = inst.requests[y]!;
          let v = 0;
          for (let h = 0; h < rx.length; h++) {
            const nx = rx[h]!;
            const ny = ry[Math.min(h, ry.length - 1)]!;
            v += inst.dist(nx, ny) / Math.max(maxD, 1e-9) + Math.abs(inst.ready[nx]! + inst.due[nx]! - inst.ready[ny]! - inst.due[ny]!) / 2 / Math.max(maxT, 1e-9);
          }
          rel[x * R + y] = v;
          rel[y * R + x] = v;
        }
      }
      this.relatedMatrix = rel;
    }
    return this.relatedMatrix[a * inst.requests.length + b]!;
  }

  related(s: Solution, q: number): void {
    const all = this.assignedRequests(s);
    if (all.length === 0) return;
    const ref = all[this.rnd.int(all.length)]!;
    const rel = all.map((r) => ({ r, v: r === ref ? -1 : this.relatednessOf(ref, r) })).sort((a, b) => a.v - b.v);
    const chosen: number[] = [];
    while (chosen.length < q && rel.length > 0) {
      const idx = Math.floor(Math.pow(this.rnd.next(), 6) * rel.length);
      chosen.push(rel.splice(idx, 1)[0]!.r);
    }
    this.removeRequests(s, chosen);
  }

  worst(s: Solution, q: number): void {
    const inst = this.inst;
    const saving: { req: number; gain: number }[] = [];
    for (const r of s.routes) {
      const v = r.nodes;
      const gainAt = (k: number): number => {
        const prev = k === 0 ? r.startNode : v[k - 1]!;
        const next = k === v.length - 1 ? r.endNode : v[k + 1]!;
        return inst.dist(prev, v[k]!) + inst.dist(v[k]!, next) - inst.dist(prev, next);
      };
      const byReq = new Map<number, number>();
      for (let k = 0; k < v.length; k++) {
        const req = inst.requestOfNode[v[k]!]!;
        if (req < 0 || inst.fixedRequest[req]) continue;
        byReq.set(req, (byReq.get(req) ?? 0) + gainAt(k));
      }
      for (const [req, gain] of byReq) saving.push({ req, gain });
    }
    saving.sort((a, b) => b.gain - a.gain);
    const chosen: number[] = [];
    while (chosen.length < q && saving.length > 0) {
      const idx = Math.floor(Math.pow(this.rnd.next(), 4) * saving.length);
      chosen.push(saving.splice(idx, 1)[0]!.req);
    }
    this.removeRequests(s, chosen);
  }

  /** Empties a short route, so the others have to absorb it: the way the vehicle count comes down. */
  route(s: Solution, q: number): void {
    const order = s.routes.map((r, i) => ({ i, len: r.requestCount })).filter((x) => x.len > 0).sort((a, b) => a.len - b.len);
    if (order.length === 0) return;
    const pick = order[Math.floor(Math.pow(this.rnd.next(), 2) * order.length)]!.i;
    const reqs = new Set(s.routes[pick]!.nodes.map((x) => this.inst.requestOfNode[x]!));
    this.removeRequests(s, reqs);
    if (reqs.size < q) this.related(s, q - reqs.size);
  }

  private neighbours: Int32Array[] = [];

  /** Nodes by distance from a node, nearest first (built on first use). */
  private neighboursOf(u: number): Int32Array {
    let list = this.neighbours[u];
    if (!list) {
      const inst = this.inst;
      const ids = Array.from({ length: inst.n - 1 }, (_, i) => i + 1).filter((x) => x !== u);
      ids.sort((a, b) => inst.dist(u, a) - inst.dist(u, b));
      list = Int32Array.from(ids);
      this.neighbours[u] = list;
    }
    return list;
  }

  /** Removes short strings of consecutive visits from routes near a random visit (SISR's string removal). */
  strings(s: Solution, q: number): void {
    const inst = this.inst;
    const where = new Map<number, { route: number; pos: number }>();
    s.routes.forEach((r, ri) => r.nodes.forEach((x, pos) => {
      if (inst.requestOfNode[x]! >= 0) where.set(x, { route: ri, pos });
    }));
    if (where.size === 0) return;
    const assigned = [...where.keys()];
    const seed = assigned[this.rnd.int(assigned.length)]!;
    const usedRoutes = s.routes.filter((r) => r.used).length;
    const avgLen = where.size / Math.max(1, usedRoutes);
    const lMax = Math.max(1, Math.min(10, Math.round(avgLen)));
    const maxStrings = Math.max(1, Math.min(usedRoutes, Math.floor((4 * q) / (1 + lMax)) + 1));
    const ruined = new Set<number>();
    const chosen = new Set<number>();
    for (const c of [seed, ...this.neighboursOf(seed)]) {
      if (ruined.size >= maxStrings || chosen.size >= q) break;
      const at = where.get(c);
      if (!at || ruined.has(at.route)) continue;
      ruined.add(at.route);
      const nodes = s.routes[at.route]!.nodes;
      const l = 1 + this.rnd.int(Math.min(lMax, nodes.length));
      const lo = Math.max(0, Math.min(at.pos - this.rnd.int(l), nodes.length - l));
      for (let k = lo; k < lo + l; k++) chosen.add(inst.requestOfNode[nodes[k]!]!);
    }
    this.removeRequests(s, chosen);
  }
}
