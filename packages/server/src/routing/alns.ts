import { applyInsertion, bestInsertion, Instance, Route, type Insertion } from './insertion.js';
import { LocalSearch } from './local-search.js';
import { SeededRandom } from './random.js';
import { StringSearch } from './sisr.js';
import { removeRequests, type Solution } from './ruin.js';
import { UNREACHABLE, type RoutingProblem, type RoutingSolution, type SolveOptions } from './problem.js';

/** fleet minimisation ends at this share of the budget, or after PATIENCE of it without removing a vehicle (0.3 and 0.1
 * missed the best known fleet of R211 and R109 more often in runs of a fixed iteration count) */
const FLEET_SHARE = 0.4;
const FLEET_PATIENCE = 0.15;
/** simulated annealing's start and end temperatures, in mean legs of the first plan (tuned on Solomon R2/RC2 at 5 s:
 * 2 was clearly worse, 4-8 level within the noise of a loaded machine) */
const T0_LEGS = 6;
const TF_LEGS = 0.005;
/** the local search polishes at most one new best plan per this share of the distance phase */
const POLISH_GAP = 0.02;
const LS_SHARE = 0.2;
/** up to this many requests the first plan is built by regret-2 insertion, beyond by sorted sequential insertion */
const REGRET_CONSTRUCTION_MAX = 300;

/**
 * The search: regret-2 insertion builds a first plan; then ruin and recreate after SISR (Christiaens & Vanden Berghe
 * 2020, sisr.ts), first to take vehicles out (fleet minimisation), then to shorten the routes under simulated
 * annealing, with a local search (local-search.ts) on new best plans. Vehicles weigh more than any distance, so
 * fewer vehicles always win; requests that fit nowhere (fleet full) weigh more still.
 */
class Search {
  readonly inst: Instance;
  readonly rnd: SeededRandom;
  readonly vehicleCost: number;
  readonly unassignedCost: number;
  /** the most routes construction may open: the fleet (the search sets its own cap, see run) */
  readonly routeCap: number;
  readonly ls: LocalSearch;

  constructor(problem: RoutingProblem, seed: number) {
    this.inst = new Instance(problem);
    this.rnd = new SeededRandom(seed);
    let maxEdge = 0;
    for (const v of this.inst.d) if (v < UNREACHABLE) maxEdge = Math.max(maxEdge, v); // the fixed cost scales with real legs
    this.vehicleCost = 2 * (this.inst.n + 1) * Math.max(maxEdge, 1);
    this.unassignedCost = 10 * this.vehicleCost;
    this.routeCap = this.inst.fleet;
    this.ls = new LocalSearch(this.inst);
  }

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
  recreate(s: Solution, k: number): void {
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
          let c = ins.cost;
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
   * Inserts the unassigned requests one by one, earliest window first, each at its cheapest position (a new route
   * only when no route in use can take it): the first plan of a large problem, where regret-2 would take seconds.
   */
  insertEarliestFirst(s: Solution): void {
    const inst = this.inst;
    const pending = s.unassigned.slice();
    s.unassigned = [];
    const first = (req: number): number => inst.requests[req]![0]!;
    pending.sort((a, b) => inst.ready[first(a)]! - inst.ready[first(b)]! || a - b);
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
      for (let ri = 0; ri < s.routes.length; ri++) if (s.routes[ri]!.used) consider(ri);
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
    if (s.unassigned.length <= REGRET_CONSTRUCTION_MAX) this.recreate(s, 2);
    else this.insertEarliestFirst(s);
    return s;
  }

  // ---------------------------------------------------------------- search loop

  run(opts: SolveOptions, started: number): { best: Solution; initial: Solution; iterations: number } {
    const initial = this.construct();
    let best = this.clone(initial);
    const R = this.inst.requests.length;
    if (R === 0) return { best, initial, iterations: 0 };
    const strings = new StringSearch(this.inst, this.rnd, (s) => this.cost(s));
    // a few ms stay for handing the plan back (worker message, checks)
    const deadline = started + Math.max(0, opts.timeLimitMs - Math.min(50, opts.timeLimitMs * 0.01));
    const maxIter = opts.maxIterations ?? Infinity;
    const progress = (it: number, now: number): number => (Number.isFinite(maxIter) ? it / maxIter : (now - started) / Math.max(1, opts.timeLimitMs));
    let it = 0;

    // Phase 1, fleet minimisation (SISR section 5): take a route out and forbid opening one; iterate ruin and recreate,
    // keeping a candidate that leaves fewer requests out, or ones left out less often so far (absences), until all fit
    // (one vehicle less: again) or the phase's share of the budget is spent without progress.
    const absences = new Int32Array(R);
    let current = best;
    let vehicles = this.vehicles(best);
    // patience counts from here: construction (and a worker thread's start-up on a busy machine) may have taken a share
    let lastGain = progress(it, Date.now());
    const sumAbs = (s: Solution): number => s.unassigned.reduce((a, r) => a + absences[r]!, 0);
    if (best.unassigned.length === 0 && vehicles > 1) {
      for (; it < maxIter; it++) {
        const now = Date.now();
        const frac = progress(it, now);
        if (now >= deadline || frac >= FLEET_SHARE || frac - lastGain >= FLEET_PATIENCE) break;
        if (current.unassigned.length === 0) {
          const removable = current.routes.map((r, i) => ({ r, i })).filter((x) => x.r.used && x.r.fixedCount === 0);
          if (removable.length === 0 || vehicles <= 1) break;
          removable.sort((x, y) => x.r.requestCount - y.r.requestCount || x.i - y.i);
          const pick = removable[Math.floor(Math.pow(this.rnd.next(), 3) * removable.length)]!.i;
          current = this.clone(current);
          removeRequests(this.inst, current, new Set(current.routes[pick]!.nodes.map((x) => this.inst.requestOfNode[x]!)));
        }
        const cand = strings.fork(current);
        strings.ruin(cand);
        strings.recreate(cand, vehicles - 1, absences);
        for (const r of cand.unassigned) absences[r]!++;
        if (cand.unassigned.length < current.unassigned.length || sumAbs(cand) < sumAbs(current)) current = cand;
        if (current.unassigned.length === 0) {
          vehicles = this.vehicles(current);
          best = current;
          lastGain = frac;
        }
      }
    }

    // Phase 2, distance: SISR with simulated annealing, the temperature falling exponentially from T0 to Tf over the
    // rest of the budget (both in units of the first plan's mean leg). A new best plan also gets the local search.
    const phase2At = progress(it, Date.now());
    const legs = R + Math.max(1, this.vehicles(initial));
    const meanLeg = Math.max(this.distance(initial), 1e-9) / legs;
    const t0 = T0_LEGS * meanLeg;
    const tf = TF_LEGS * meanLeg;
    const cap = best.unassigned.length === 0 ? this.vehicles(best) : this.inst.fleet;
    // one local search may take at most POLISH_GAP of the budget (on a thousand visits it would take all of it)
    const polishUntil = (): number => Math.min(deadline, Date.now() + POLISH_GAP * opts.timeLimitMs);
    this.polish(best, polishUntil());
    current = best;
    let polishedAt = 0;
    let lsMs = 0;
    let finalPolish = false;
    for (; it < maxIter; it++) {
      const now = Date.now();
      if (now >= deadline) break;
      const frac = Math.min(1, (progress(it, now) - phase2At) / Math.max(1e-9, 1 - phase2At));
      const temp = t0 * Math.pow(tf / t0, frac);
      const cand = strings.fork(current);
      strings.ruin(cand);
      strings.recreate(cand, cap);
      if (cand.cost < best.cost - 1e-9) {
        // a local search costs as much as hundreds of iterations and new bests come in bursts: it runs on one of them
        // per POLISH_GAP of the phase (and on the best plan near the end); with a time limit it also stays within
        // LS_SHARE of the time spent (on a thousand visits nearly every iteration is a new best)
        const lsAllowed = Number.isFinite(maxIter) || lsMs <= LS_SHARE * (now - started);
        if (frac - polishedAt >= POLISH_GAP && lsAllowed) {
          const t = Date.now();
          this.polish(cand, polishUntil());
          lsMs += Date.now() - t;
          polishedAt = frac;
        }
        best = cand;
        current = cand;
      } else if (cand.cost < current.cost - temp * Math.log(this.rnd.next())) current = cand;
      if (!finalPolish && frac >= 1 - POLISH_GAP) {
        finalPolish = true;
        this.polish(best, polishUntil());
        if (best.cost < current.cost) current = best;
      }
    }
    if (!finalPolish) this.polish(best, polishUntil());
    return { best, initial, iterations: it };
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
