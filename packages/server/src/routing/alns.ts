import { applyInsertion, bestInsertion, Instance, Route, type Insertion } from './insertion.js';
import { LocalSearch } from './local-search.js';
import { SeededRandom } from './random.js';
import { Ruin, type Solution } from './ruin.js';
import { UNREACHABLE, type RoutingProblem, type RoutingSolution, type SolveOptions } from './problem.js';

/** share of the budget spent removing vehicles before the distance phase */
const SQUEEZE_SHARE = 0.25;
/** up to this many requests the first plan is built by regret-2 insertion, beyond by sorted sequential insertion */
const REGRET_CONSTRUCTION_MAX = 300;
/** squeezing gives up after this share of the budget without removing a vehicle (a short patience cost vehicles on
 * RC1 instances in our runs, so it is the whole squeeze share for now) */
const SQUEEZE_PATIENCE = SQUEEZE_SHARE;
/** how often an improving (not best) candidate gets the local search too */
const LS_SHARE = 0.1;

/**
 * Adaptive large neighbourhood search (after Ropke & Pisinger 2006): regret insertion builds a first plan; then
 * each iteration ruins part of it (ruin.ts: random, related, worst, a whole route, or strings as in SISR),
 * recreates it (greedy or regret-k insertion, with or without noise, or one by one in a sorted order) and accepts
 * the result by simulated annealing. Operators that pay off are chosen more often. Vehicles weigh more than any
 * distance, so fewer vehicles always win; requests that fit nowhere (fleet full) weigh more still.
 */
class Search {
  readonly inst: Instance;
  readonly rnd: SeededRandom;
  readonly vehicleCost: number;
  readonly unassignedCost: number;
  /** the most routes recreate may open: the fleet, or one less than the best plan while squeezing vehicles out */
  routeCap: number;
  readonly ruin: Ruin;

  readonly ls: LocalSearch;

  constructor(problem: RoutingProblem, seed: number) {
    this.inst = new Instance(problem);
    this.rnd = new SeededRandom(seed);
    let maxEdge = 0;
    for (const v of this.inst.d) if (v < UNREACHABLE) maxEdge = Math.max(maxEdge, v); // noise and fixed costs scale with real legs
    this.maxEdge = maxEdge;
    this.vehicleCost = 2 * (this.inst.n + 1) * Math.max(maxEdge, 1);
    this.unassignedCost = 10 * this.vehicleCost;
    this.routeCap = this.inst.fleet;
    this.ruin = new Ruin(this.inst, this.rnd);
    this.ls = new LocalSearch(this.inst);
  }

  readonly maxEdge: number;

  cost(s: Solution): number {
    let c = s.unassigned.length * this.unassignedCost;
    for (const r of s.routes) if (r.used) c += r.distance + this.vehicleCost;
    return c;
  }

  distance(s: Solution): number {
    return s.routes.reduce((a, r) => a + (r.used ? r.distance : 0), 0);
  }

  vehicles(s: Solution): number {
    return s.routes.filter((r) => r.used).length;
  }

  clone(s: Solution): Solution {
    return { routes: s.routes.map((r) => r.clone()), unassigned: s.unassigned.slice(), cost: s.cost };
  }

  /** Empty routes that stand for their class (the first empty one of each), while the fleet cap allows opening one. */
  private openable(s: Solution): number[] {
    if (this.vehicles(s) >= this.routeCap) return [];
    const seen = new Set<number>();
    const out: number[] = [];
    s.routes.forEach((r, ri) => {
      if (r.used) return;
      const c = this.inst.vehicles[r.vehicle]!.classId;
      if (seen.has(c)) return;
      seen.add(c);
      out.push(ri);
    });
    return out;
  }

  /**
   * Inserts every unassigned request. k = 1 is greedy (cheapest first); k >= 2 is regret-k (the request
   * that would lose most by waiting goes first). An unused vehicle is one more option while the fleet allows.
   */
  recreate(s: Solution, k: number, noise: number): void {
    const inst = this.inst;
    const pending = s.unassigned.slice();
    s.unassigned = [];
    const R = s.routes.length;
    const NONE: Insertion = { cost: Infinity, i: -1, j: -1 };
    // cache[req][route] = best insertion of the request in that route (NONE for an empty route that is not a candidate)
    const cache = new Map<number, Insertion[]>();
    let open = this.openable(s);
    const candidate = (ri: number): boolean => s.routes[ri]!.used || open.includes(ri);
    const evalIn = (req: number, ri: number): Insertion => (candidate(ri) ? bestInsertion(inst, s.routes[ri]!, inst.requests[req]!) : NONE);
    for (const req of pending) {
      const row: Insertion[] = [];
      for (let ri = 0; ri < R; ri++) row.push(evalIn(req, ri));
      cache.set(req, row);
    }
    const maxNoise = noise * this.maxEdge;
    while (pending.length > 0) {
      let pick = -1;
      let pickScore = -Infinity;
      let pickIns: Insertion | undefined;
      let pickRoute = -1;
      for (let pi = 0; pi < pending.length; pi++) {
        const req = pending[pi]!;
        const row = cache.get(req)!;
        // the three cheapest costs over the routes (an unused vehicle costs its fixed cost on top)
        let c1 = Infinity;
        let c2 = Infinity;
        let c3 = Infinity;
        let bestRoute = -1;
        let bestIns: Insertion | undefined;
        for (let ri = 0; ri < R; ri++) {
          const ins = row[ri]!;
          if (ins.cost === Infinity) continue;
          let c = noise > 0 ? Math.max(0, ins.cost + (this.rnd.next() * 2 - 1) * maxNoise) : ins.cost;
          if (!s.routes[ri]!.used) c += this.vehicleCost;
          if (c < c1) {
            c3 = c2;
            c2 = c1;
            c1 = c;
            bestRoute = ri;
            bestIns = ins;
          } else if (c < c2) {
            c3 = c2;
            c2 = c;
          } else if (c < c3) c3 = c;
        }
        if (!bestIns) continue;
        let score: number;
        if (k <= 1) score = -c1;
        else {
          const missing = c1 + this.unassignedCost;
          score = (c2 === Infinity ? missing : c2) - c1;
          if (k >= 3) score += (c3 === Infinity ? missing : c3) - c1;
          score = score * 1e3 - c1 * 1e-3; // ties: the cheaper first
        }
        if (score > pickScore) {
          pickScore = score;
          pick = pi;
          pickIns = bestIns;
          pickRoute = bestRoute;
        }
      }
      if (pick < 0) {
        s.unassigned.push(...pending);
        break;
      }
      const req = pending[pick]!;
      pending.splice(pick, 1);
      cache.delete(req);
      const ri = pickRoute;
      const opened = !s.routes[ri]!.used;
      applyInsertion(inst, s.routes[ri]!, inst.requests[req]!, pickIns!);
      if (opened) {
        // another vehicle of that class (if any) becomes the candidate; at the cap, none
        const before = open;
        open = this.openable(s);
        for (const other of pending) {
          const row = cache.get(other)!;
          for (const x of before) if (x !== ri && !open.includes(x)) row[x] = NONE;
          for (const x of open) if (!before.includes(x)) row[x] = evalIn(other, x);
        }
      }
      for (const other of pending) cache.get(other)![ri] = evalIn(other, ri);
    }
    s.cost = this.cost(s);
  }

  /**
   * Inserts the unassigned requests one by one in a sorted order (SISR, Christiaens & Vanden Berghe 2020):
   * cheaper than regret, so many more iterations fit in the time limit.
   */
  recreateSequential(s: Solution, order: number): void {
    const inst = this.inst;
    const pending = s.unassigned.slice();
    s.unassigned = [];
    const first = (req: number): number => inst.requests[req]![0]!;
    if (order === 0) {
      for (let i = pending.length - 1; i > 0; i--) {
        const j = this.rnd.int(i + 1);
        [pending[i], pending[j]] = [pending[j]!, pending[i]!];
      }
    } else if (order === 1) pending.sort((a, b) => inst.demand[first(b)]! - inst.demand[first(a)]!);
    else if (order === 2) pending.sort((a, b) => inst.dist(0, first(b)) - inst.dist(0, first(a)));
    else if (order === 3) pending.sort((a, b) => inst.due[first(a)]! - inst.ready[first(a)]! - (inst.due[first(b)]! - inst.ready[first(b)]!));
    else pending.sort((a, b) => inst.ready[first(a)]! - inst.ready[first(b)]! || a - b);
    for (const req of pending) {
      const request = inst.requests[req]!;
      let best: Insertion | undefined;
      let bestRoute = -1;
      let bestCost = Infinity;
      const consider = (ri: number): void => {
        const ins = bestInsertion(inst, s.routes[ri]!, request);
        if (ins.cost < bestCost) {
          bestCost = ins.cost;
          best = ins;
          bestRoute = ri;
        }
      };
      for (let ri = 0; ri < s.routes.length; ri++) {
        if (!s.routes[ri]!.used) continue;
        if (order < 4 && this.rnd.next() < 0.01) continue; // blink: a little randomness in the choice (not while constructing)
        consider(ri);
      }
      // only when no route in use can take it: open a new one
      if (!best) for (const ri of this.openable(s)) consider(ri);
      if (!best) {
        s.unassigned.push(req);
        continue;
      }
      applyInsertion(inst, s.routes[bestRoute]!, request, best);
    }
    s.cost = this.cost(s);
  }

  /** Local search on a plan, then its cost again. */
  polish(s: Solution, deadline: number): void {
    if (this.ls.improve(s, deadline)) s.cost = this.cost(s);
  }

  construct(): Solution {
    const s: Solution = { routes: this.inst.vehicles.map((_, v) => new Route(v, this.inst)), unassigned: this.inst.requests.map((_, i) => i).filter((r) => !this.inst.fixedRequest[r]), cost: 0 };
    // regret-2 costs about requests^2 x route length: beyond a few hundred requests a sorted one-by-one insertion
    // (earliest window first) builds the first plan in a fraction of the time
    if (s.unassigned.length <= REGRET_CONSTRUCTION_MAX) this.recreate(s, 2, 0);
    else this.recreateSequential(s, 4);
    return s;
  }

  // ---------------------------------------------------------------- search loop

  run(opts: SolveOptions, started: number): { best: Solution; initial: Solution; iterations: number } {
    const initial = this.construct();
    let current = this.clone(initial);
    let best = this.clone(initial);
    const R = this.inst.requests.length;
    if (R === 0) return { best, initial, iterations: 0 };
    const ruin = this.ruin;
    const ruins = [(s: Solution, q: number) => ruin.random(s, q), (s: Solution, q: number) => ruin.related(s, q), (s: Solution, q: number) => ruin.worst(s, q), (s: Solution, q: number) => ruin.route(s, q), (s: Solution, q: number) => ruin.strings(s, q)];
    const recreates: { k: number; noise: number; order?: number }[] = [
      { k: 1, noise: 0 },
      { k: 2, noise: 0 },
      { k: 3, noise: 0 },
      { k: 1, noise: 0.02 },
      { k: 2, noise: 0.02 },
      { k: 0, noise: 0, order: 0 },
      { k: 0, noise: 0, order: 1 },
      { k: 0, noise: 0, order: 2 },
      { k: 0, noise: 0, order: 3 },
    ];
    const ruinW = ruins.map(() => 1);
    const recW = recreates.map(() => 1);
    const ruinScore = ruins.map(() => 0);
    const recScore = recreates.map(() => 0);
    const ruinUse = ruins.map(() => 0);
    const recUse = recreates.map(() => 0);
    const d0 = Math.max(this.distance(initial), 1e-9);
    const t0 = (0.03 * d0) / Math.LN2 / Math.max(1, Math.sqrt(R));
    const tEnd = t0 / 200;
    const maxQ = Math.max(2, Math.min(40, Math.ceil(R * 0.4)));
    // a few ms stay for handing the plan back (worker message, checks)
    const deadline = started + Math.max(0, opts.timeLimitMs - Math.min(50, opts.timeLimitMs * 0.01));
    const maxIter = opts.maxIterations ?? Infinity;
    // Phase 1 (the first quarter of the budget) squeezes vehicles out: take the shortest route's requests out, forbid a
    // new route, and search until they all fit elsewhere (then again); phase 2 minimises distance with the best fleet.
    let squeezing = true;
    let squeezedAt = 0;
    let switchedAt = SQUEEZE_SHARE;
    const squeeze = (): void => {
      const v = this.vehicles(current);
      if (current.unassigned.length > 0 || v <= 1) return;
      let shortest = -1;
      current.routes.forEach((r, i) => {
        if (r.used && r.fixedCount === 0 && (shortest < 0 || r.requestCount < current.routes[shortest]!.requestCount)) shortest = i;
      });
      if (shortest < 0) return;
      this.routeCap = v - 1;
      current = this.clone(current);
      this.ruin.removeRequests(current, new Set(current.routes[shortest]!.nodes.map((x) => this.inst.requestOfNode[x]!)));
      this.recreate(current, 2, 0);
      if (current.cost < best.cost - 1e-9) best = this.clone(current); // everything fitted at once
    };
    const deadline0 = started + opts.timeLimitMs;
    if (Date.now() < deadline0) squeeze();
    let it = 0;
    for (; it < maxIter; it++) {
      const now = Date.now();
      if (now >= deadline) break;
      const frac = Number.isFinite(maxIter) ? it / maxIter : (now - started) / Math.max(1, opts.timeLimitMs);
      // squeezing stops at its share of the budget, or earlier once it has made no progress for a while
      if (squeezing && (frac >= SQUEEZE_SHARE || frac - squeezedAt >= SQUEEZE_PATIENCE)) {
        squeezing = false;
        switchedAt = frac;
        this.routeCap = this.inst.fleet;
        current = this.clone(best);
      } else if (squeezing && current.unassigned.length === 0) {
        squeezedAt = frac;
        squeeze();
      }
      const temp = t0 * Math.pow(tEnd / t0, squeezing ? frac / SQUEEZE_SHARE : (frac - switchedAt) / Math.max(1e-9, 1 - switchedAt));
      const cand = this.clone(current);
      const q = 1 + this.rnd.int(maxQ);
      const a = this.roulette(ruinW);
      const b = this.roulette(recW);
      ruins[a]!(cand, q);
      const rec = recreates[b]!;
      if (rec.order !== undefined) this.recreateSequential(cand, rec.order);
      else this.recreate(cand, rec.k, rec.noise);
      ruinUse[a]!++;
      recUse[b]!++;
      let score = 0;
      if (cand.cost < best.cost - 1e-9 || (cand.cost < current.cost - 1e-9 && this.rnd.next() < LS_SHARE)) this.polish(cand, deadline);
      if (cand.cost < best.cost - 1e-9) {
        best = this.clone(cand);
        current = cand;
        score = 33;
      } else if (cand.cost < current.cost - 1e-9) {
        current = cand;
        score = 9;
      } else if (cand.unassigned.length <= current.unassigned.length && this.rnd.next() < Math.exp(-(cand.cost - current.cost) / temp)) {
        current = cand;
        score = 13;
      }
      ruinScore[a]! += score;
      recScore[b]! += score;
      if ((it + 1) % 100 === 0) {
        for (let h = 0; h < ruins.length; h++) {
          if (ruinUse[h]! > 0) ruinW[h] = 0.8 * ruinW[h]! + 0.2 * (ruinScore[h]! / ruinUse[h]!) + 0.01;
          ruinScore[h] = 0;
          ruinUse[h] = 0;
        }
        for (let h = 0; h < recreates.length; h++) {
          if (recUse[h]! > 0) recW[h] = 0.8 * recW[h]! + 0.2 * (recScore[h]! / recUse[h]!) + 0.01;
          recScore[h] = 0;
          recUse[h] = 0;
        }
      }
    }
    return { best, initial, iterations: it };
  }

  private roulette(weights: number[]): number {
    const total = weights.reduce((a, b) => a + b, 0);
    let x = this.rnd.next() * total;
    for (let h = 0; h < weights.length; h++) {
      x -= weights[h]!;
      if (x <= 0) return h;
    }
    return weights.length - 1;
  }

  toIds(s: Solution): number[][] {
    const ids = (r: Route): number[] => r.nodes.map((x) => this.inst.problem.nodes[x]!.id);
    if (this.inst.problem.vehicles) return s.routes.map((r) => (r.used ? ids(r) : []));
    return s.routes.filter((r) => r.used).map(ids);
  }
}

/** Solves on the calling thread. Prefer `solve` (a worker thread) inside a server. */
export function solveSync(problem: RoutingProblem, opts: SolveOptions): RoutingSolution {
  const started = opts.startedAt ?? Date.now();
  const search = new Search(problem, opts.seed ?? 1);
  const { best, initial, iterations } = search.run(opts, started);
  return {
    routes: search.toIds(best),
    distance: search.distance(best),
    vehicles: search.vehicles(best),
    unassigned: best.unassigned.flatMap((r) => search.inst.requests[r]!.map((x) => problem.nodes[x]!.id)),
    construction: { distance: search.distance(initial), vehicles: search.vehicles(initial) },
    iterations,
    timeMs: Date.now() - started,
  };
}
