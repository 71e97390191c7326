import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isInfraError } from '@infra/core/errors';
import { checkSolution, parseInstance, parseLiLim, parseSolomon, solve, solveSync, type RoutingNode, type RoutingProblem } from './index.js';
import { Instance, Route } from './insertion.js';
import { LocalSearch } from './local-search.js';
import { SeededRandom } from './random.js';
import type { Solution } from './ruin.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const solomonText = readFileSync(fixture('solomon-r125gen.txt'), 'utf8');
const lilimText = readFileSync(fixture('lilim-lr110gen.txt'), 'utf8');
const solomon = (): RoutingProblem => parseInstance(solomonText, 'solomon-r125gen.txt');
const lilim = (): RoutingProblem => parseInstance(lilimText, 'lilim-lr110gen.txt');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isInfraError(err) ? err.code : `not an InfraError: ${String(err)}`;
  }
  return undefined;
}

/** A tiny VRPTW on a line, so feasibility by hand is obvious: depot at 0, customers at x = 10, 20, 30. */
function lineProblem(capacity = 12): RoutingProblem {
  const depot = { id: 0, x: 0, y: 0, demand: 0, ready: 0, due: 100, service: 0, kind: 'depot' as const, sibling: -1 };
  const c = (id: number, x: number, demand: number, ready: number, due: number) => ({ id, x, y: 0, demand, ready, due, service: 1, kind: 'single' as const, sibling: -1 });
  return { name: 'line', format: 'custom', capacity, fleetSize: 3, nodes: [depot, c(1, 10, 4, 0, 15), c(2, 20, 4, 0, 40), c(3, 30, 4, 0, 60)] };
}

describe('parsers', () => {
  it('reads the Solomon fixture: depot first, 25 customers, fleet and capacity from the VEHICLE block', () => {
    const p = solomon();
    expect(p.format).toBe('solomon');
    expect(p.name).toBe('R125GEN');
    expect(p.fleetSize).toBe(25);
    expect(p.capacity).toBe(200);
    expect(p.nodes).toHaveLength(26);
    expect(p.nodes[0]).toMatchObject({ id: 0, x: 35, y: 35, ready: 0, due: 230, kind: 'depot' });
    expect(p.nodes[1]).toMatchObject({ id: 1, x: 19, y: 24, demand: 22, ready: 54, due: 66, service: 10, kind: 'single' });
    expect(p.nodes.slice(1).every((n) => n.kind === 'single')).toBe(true);
  });

  it('reads the Li & Lim fixture: 10 pairs whose pickup and delivery name each other', () => {
    const p = lilim();
    expect(p.format).toBe('lilim');
    expect(p.fleetSize).toBe(10);
    expect(p.capacity).toBe(200);
    expect(p.nodes).toHaveLength(21);
    const pickups = p.nodes.filter((n) => n.kind === 'pickup');
    expect(pickups).toHaveLength(10);
    for (const pk of pickups) {
      const dl = p.nodes[pk.sibling]!;
      expect(dl.kind).toBe('delivery');
      expect(p.nodes[dl.sibling]).toBe(pk);
      expect(dl.demand).toBe(-pk.demand);
    }
    // task 2 is a pickup whose delivery is task 15 (line `2 0 5 40 96 130 10 0 15`)
    const t2 = p.nodes.find((n) => n.id === 2)!;
    expect(t2).toMatchObject({ x: 0, y: 5, demand: 40, ready: 96, due: 130, kind: 'pickup' });
    expect(p.nodes[t2.sibling]!.id).toBe(15);
  });

  it('rejects bad files with INFRA_ERR_DISPATCH_BAD_INSTANCE', () => {
    expect(codeOf(() => parseInstance('hello\nworld\n'))).toBe('INFRA_ERR_DISPATCH_BAD_INSTANCE');
    expect(codeOf(() => parseSolomon(solomonText.replace('  25         200', '  25')))).toBe('INFRA_ERR_DISPATCH_BAD_INSTANCE');
    expect(codeOf(() => parseSolomon(solomonText.replace(/^ {4}3 .*$/m, '    3  67  31  10')))).toBe('INFRA_ERR_DISPATCH_BAD_INSTANCE');
    expect(codeOf(() => parseSolomon(solomonText.replace(/^ {4}3 /m, '    2 ')))).toBe('INFRA_ERR_DISPATCH_BAD_INSTANCE'); // duplicate id
    expect(codeOf(() => parseLiLim(lilimText.replace('2\t0\t5\t40\t96\t130\t10\t0\t15', '2\t0\t5\t40\t96\t130\t10\t0\t99')))).toBe('INFRA_ERR_DISPATCH_BAD_INSTANCE'); // unknown delivery
    expect(codeOf(() => parseLiLim(lilimText.replace('2\t0\t5\t40\t96\t130', '2\t0\t5\t40\t196\t130')))).toBe('INFRA_ERR_DISPATCH_BAD_INSTANCE'); // ready > due
    expect(codeOf(() => parseLiLim(lilimText.replace('10\t200\t1', '10\t200')))).toBe('INFRA_ERR_DISPATCH_BAD_INSTANCE');
  });
});

describe('checkSolution', () => {
  it('accepts a feasible hand-made plan and measures its distance', () => {
    const r = checkSolution(lineProblem(), [[1, 2, 3]]);
    expect(r.violations).toEqual([]);
    expect(r.feasible).toBe(true);
    expect(r.distance).toBe(60);
    expect(r.vehicles).toBe(1);
  });

  it('rejects an over-capacity route', () => {
    const r = checkSolution(lineProblem(8), [[1, 2, 3]]);
    expect(r.feasible).toBe(false);
    expect(r.violations.map((v) => v.kind)).toContain('capacity');
  });

  it('rejects a late service start and a late return to the depot', () => {
    const r = checkSolution(lineProblem(), [[3, 2, 1]]);
    expect(r.violations.map((v) => v.kind)).toContain('window');
    const p = lineProblem();
    p.nodes[0] = { ...p.nodes[0]!, due: 50 };
    expect(checkSolution(p, [[1, 2, 3]]).violations.map((v) => v.kind)).toEqual(['window']);
  });

  it('rejects a missing, a duplicated and an unknown customer, and too many vehicles', () => {
    expect(checkSolution(lineProblem(), [[1, 2]]).violations.map((v) => v.kind)).toEqual(['missing']);
    expect(checkSolution(lineProblem(), [[1, 2, 3], [2]]).violations.map((v) => v.kind)).toContain('duplicate');
    expect(checkSolution(lineProblem(), [[1, 2, 3, 9]]).violations.map((v) => v.kind)).toContain('unknown');
    expect(checkSolution(lineProblem(), [[1, 2, 3, 0]]).violations.map((v) => v.kind)).toContain('depot');
    const p = lineProblem();
    p.fleetSize = 2;
    expect(checkSolution(p, [[1], [2], [3]]).violations.map((v) => v.kind)).toEqual(['fleet']);
  });

  it('rejects a delivery before its pickup, and a pair split over two vehicles', () => {
    const p = lilim();
    const s = solveSync(p, { timeLimitMs: 500, seed: 3, maxIterations: 50 });
    expect(checkSolution(p, s.routes).feasible).toBe(true);
    const pk = p.nodes.find((n) => n.kind === 'pickup')!;
    const dl = p.nodes[pk.sibling]!;
    const swapped = s.routes.map((r) => r.map((id) => (id === pk.id ? dl.id : id === dl.id ? pk.id : id)));
    expect(checkSolution(p, swapped).violations.map((v) => v.kind)).toContain('precedence');
    const split = s.routes.map((r) => r.filter((id) => id !== dl.id));
    split.push([dl.id]);
    expect(checkSolution(p, split).violations.map((v) => v.kind)).toContain('precedence');
  });
});

describe('solver', () => {
  it('returns a feasible plan for the Solomon fixture that beats its own construction', () => {
    const p = solomon();
    const s = solveSync(p, { timeLimitMs: 1500, seed: 1, maxIterations: 1500 });
    const check = checkSolution(p, s.routes);
    expect(check.violations).toEqual([]);
    expect(s.unassigned).toEqual([]);
    expect(check.distance).toBeCloseTo(s.distance, 6);
    expect(check.vehicles).toBe(s.vehicles);
    expect(s.vehicles).toBeLessThanOrEqual(s.construction.vehicles);
    expect(s.distance).toBeLessThan(s.construction.distance - 1);
  });

  it('returns a feasible plan for the Li & Lim fixture (pickup before delivery, same vehicle)', () => {
    const p = lilim();
    const s = solveSync(p, { timeLimitMs: 1000, seed: 1, maxIterations: 1000 });
    const check = checkSolution(p, s.routes);
    expect(check.violations).toEqual([]);
    expect(check.distance).toBeCloseTo(s.distance, 6);
    expect(s.distance).toBeLessThanOrEqual(s.construction.distance + 1e-9);
  });

  it('is deterministic for a seed and an iteration budget', () => {
    const a = solveSync(solomon(), { timeLimitMs: 2000, seed: 42, maxIterations: 300 });
    const b = solveSync(solomon(), { timeLimitMs: 2000, seed: 42, maxIterations: 300 });
    expect(a.iterations).toBe(300);
    expect(b.routes).toEqual(a.routes);
    expect(b.distance).toBe(a.distance);
  });

  it('never uses more vehicles than the fleet, and reports what does not fit', () => {
    const free = solveSync(solomon(), { timeLimitMs: 500, seed: 1, maxIterations: 200 });
    const p = solomon();
    p.fleetSize = free.vehicles;
    const tight = solveSync(p, { timeLimitMs: 500, seed: 2, maxIterations: 200 });
    expect(tight.vehicles).toBeLessThanOrEqual(p.fleetSize);
    expect(checkSolution(p, tight.routes).violations).toEqual([]);
    const q = solomon();
    q.fleetSize = 1;
    const one = solveSync(q, { timeLimitMs: 300, seed: 1, maxIterations: 50 });
    expect(one.vehicles).toBe(1);
    expect(one.unassigned.length).toBeGreaterThan(0);
    const violations = checkSolution(q, one.routes).violations.map((v) => v.kind);
    expect(new Set(violations)).toEqual(new Set(['missing']));
  });

  it('solves in a worker thread while the event loop keeps ticking, with the same result as on the thread', async () => {
    const opts = { timeLimitMs: 2000, seed: 5, maxIterations: 400 };
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = Date.now();
    const s = await solve(solomon(), opts);
    const elapsed = Date.now() - started;
    clearInterval(timer);
    expect(checkSolution(solomon(), s.routes).violations).toEqual([]);
    expect(ticks).toBeGreaterThan(Math.min(3, elapsed / 50)); // a blocked loop would tick at most once
    expect(s.routes).toEqual(solveSync(solomon(), opts).routes);
  });

  it('keeps searching on 1,000 customers: the local search does not eat the time limit', () => {
    // before the local search was capped, a 1,000-customer plan got 4 improvement iterations in 5 s (all the rest went
    // to polishing); now ruin and recreate gets thousands
    const rnd = new SeededRandom(7);
    const nodes: RoutingNode[] = [{ id: 0, x: 500, y: 500, demand: 0, ready: 0, due: 5000, service: 0, kind: 'depot', sibling: -1 }];
    for (let i = 1; i <= 1000; i++) {
      const x = rnd.int(1000);
      const y = rnd.int(1000);
      const d0 = Math.hypot(x - 500, y - 500);
      const ready = Math.ceil(d0) + rnd.int(3000);
      nodes.push({ id: i, x, y, demand: 1 + rnd.int(20), ready, due: Math.min(ready + 300 + rnd.int(600), Math.floor(5000 - 10 - d0)), service: 10, kind: 'single', sibling: -1 });
    }
    const p: RoutingProblem = { name: 'thousand', format: 'custom', capacity: 200, fleetSize: 200, nodes };
    const s = solveSync(p, { timeLimitMs: 3000, seed: 1 });
    expect(s.unassigned).toEqual([]);
    expect(checkSolution(p, s.routes).violations).toEqual([]);
    expect(s.iterations).toBeGreaterThan(100);
    expect(s.distance).toBeLessThan(s.construction.distance * 0.9);
  });

  it('agrees with the checker on 30 random small instances with tight capacity and windows', () => {
    const rnd = new SeededRandom(2026);
    const int = (lo: number, hi: number): number => lo + rnd.int(hi - lo + 1);
    for (let k = 0; k < 30; k++) {
      const pairs = k % 2 === 0;
      const nodes: RoutingNode[] = [{ id: 0, x: 50, y: 50, demand: 0, ready: 0, due: 400, service: 0, kind: 'depot', sibling: -1 }];
      const capacity = int(20, 60);
      const site = (): Pick<RoutingNode, 'x' | 'y' | 'ready' | 'due' | 'service'> => {
        const ready = int(0, 250);
        return { x: int(0, 100), y: int(0, 100), ready, due: ready + int(5, 120), service: int(0, 10) };
      };
      for (let c = 0; c < 10; c++) {
        const q = int(1, 20);
        if (pairs) {
          const p = nodes.length;
          nodes.push({ id: p, ...site(), demand: q, kind: 'pickup', sibling: p + 1 });
          nodes.push({ id: p + 1, ...site(), demand: -q, kind: 'delivery', sibling: p });
        } else nodes.push({ id: nodes.length, ...site(), demand: q, kind: 'single', sibling: -1 });
      }
      const problem: RoutingProblem = { name: `random-${k}`, format: 'custom', capacity, fleetSize: int(2, 6), nodes };
      const s = solveSync(problem, { timeLimitMs: 1000, seed: k, maxIterations: 60 });
      const check = checkSolution(problem, s.routes);
      // the only thing the checker may find is what the solver itself reports as not placed
      expect(check.violations.filter((v) => v.kind !== 'missing')).toEqual([]);
      expect(check.violations.map((v) => Number(/id (\d+)/.exec(v.message)![1])).sort((a, b) => a - b)).toEqual([...s.unassigned].sort((a, b) => a - b));
      expect(s.vehicles).toBeLessThanOrEqual(problem.fleetSize);
      expect(check.distance).toBeCloseTo(s.distance, 6);
      if (s.vehicles < problem.fleetSize) {
        // a vehicle was free, so whatever was left out must be infeasible even alone on it
        for (const id of s.unassigned) {
          const node = nodes[id]!;
          if (node.kind === 'delivery') continue;
          const alone = node.kind === 'pickup' ? [id, nodes[node.sibling]!.id] : [id];
          const others = nodes.filter((n) => n.kind !== 'depot' && !alone.includes(n.id)).map((n) => n.id);
          const kinds = checkSolution(problem, [alone]).violations.filter((v) => !others.includes(Number(/id (\d+)/.exec(v.message)?.[1])));
          expect(kinds.length, `request ${id} of ${problem.name}`).toBeGreaterThan(0);
        }
      }
    }
  });
});

describe('heterogeneous fleet: skills, started steps, reload stops (solver and checker)', () => {
  /** Depot 0 (vehicle 0's start and end), depot 1 (vehicle 1's), reload stop 2 of vehicle 0 at depot 0, customers 3..6 on a line. */
  function fleetProblem(): RoutingProblem {
    const depot = (id: number, x: number): RoutingNode => ({ id, x, y: 0, demand: 0, ready: 0, due: 1000, service: 0, kind: 'depot', sibling: -1 });
    const c = (id: number, x: number, skills?: string[]): RoutingNode => ({ id, x, y: 0, demand: 2, ready: 0, due: 1000, service: 1, kind: 'single', sibling: -1, ...(skills ? { skills } : {}) });
    return {
      name: 'fleet',
      format: 'custom',
      capacity: 4,
      fleetSize: 2,
      nodes: [depot(0, 0), depot(1, 100), { id: 2, x: 0, y: 0, demand: 0, ready: 0, due: 1000, service: 5, kind: 'reload', sibling: -1 }, c(3, 10, ['cold']), c(4, 20), c(5, 30), c(6, 40)],
      vehicles: [
        { start: 0, end: 0, capacity: 4, ready: 0, due: 1000, skills: ['cold'], reloads: [2] },
        { start: 1, end: 1, capacity: 2, ready: 0, due: 1000, fixed: [6] },
      ],
    };
  }

  it('the checker rejects a missing skill, a started step out of place, a trip over capacity, and accepts the reload', () => {
    const p = fleetProblem();
    expect(checkSolution(p, [[3, 4, 2, 5], [6]]).violations).toEqual([]);
    expect(checkSolution(p, [[4, 2, 5], [6, 3]]).violations.map((v) => v.kind)).toEqual(expect.arrayContaining(['skills', 'capacity']));
    expect(checkSolution(p, [[3, 4, 2, 5, 6], []]).violations.map((v) => v.kind)).toContain('fixed');
    expect(checkSolution(p, [[3, 4, 5, 2], [6]]).violations.map((v) => v.kind)).toEqual(['capacity']); // 6 units in one trip of 4
  });

  it('the solver keeps started steps first, honours skills and uses the reload when one trip is not enough', () => {
    const p = fleetProblem();
    const s = solveSync(p, { timeLimitMs: 1000, seed: 1, maxIterations: 200 });
    expect(s.unassigned).toEqual([]);
    expect(checkSolution(p, s.routes).violations).toEqual([]);
    expect(s.routes).toHaveLength(2);
    expect(s.routes[1]![0]).toBe(6);
    expect(s.routes[0]).toContain(3);
    // vehicle 1 carries 2: with 6 already on it, everything else rides on vehicle 0 in two trips
    expect(s.routes[0]!.filter((x) => x !== 2).sort()).toEqual([3, 4, 5]);
    expect(s.routes[0]).toContain(2);
  });
});

describe('local search moves pickup-and-delivery pairs whole', () => {
  const node = (id: number, x: number, y: number, kind: RoutingNode['kind'], sibling = -1, demand = 0, ready = 0, due = 1000): RoutingNode => ({ id, x, y, demand, ready, due, service: 0, kind, sibling });
  const plan = (inst: Instance, lists: number[][]): Solution => ({
    routes: lists.map((nodes, v) => {
      const r = new Route(v, inst);
      r.nodes = nodes;
      expect(r.update(inst)).toBe(true);
      return r;
    }),
    unassigned: [],
    cost: 0,
  });
  const total = (s: Solution): number => s.routes.reduce((a, r) => a + r.distance, 0);

  it('relocates a pair into the route it lies next to (both halves, pickup first)', () => {
    // depot in the middle; pair c in the west, pairs b and a in the east, a wrongly on c's route
    const p: RoutingProblem = {
      name: 'pair-relocate', format: 'custom', capacity: 50, fleetSize: 2,
      nodes: [node(0, 50, 0, 'depot'), node(1, 0, 10, 'pickup', 2, 10), node(2, 0, 20, 'delivery', 1, -10), node(3, 100, 10, 'pickup', 4, 10), node(4, 100, 20, 'delivery', 3, -10), node(5, 100, 30, 'pickup', 6, 10), node(6, 100, 40, 'delivery', 5, -10)],
    };
    const inst = new Instance(p);
    const s = plan(inst, [[1, 2, 5, 6], [3, 4]]);
    const before = total(s);
    expect(new LocalSearch(inst).improve(s, Date.now() + 5000)).toBe(true);
    // a now rides with b (the plan may also merge everything into one route: one depot round trip less)
    const withB = s.routes.find((r) => r.nodes.includes(3))!;
    expect(withB.nodes).toEqual(expect.arrayContaining([3, 4, 5, 6]));
    expect(withB.nodes.indexOf(5)).toBeLessThan(withB.nodes.indexOf(6));
    expect(total(s)).toBeLessThan(before - 50);
    const check = checkSolution(p, s.routes.map((r) => r.nodes));
    expect(check.violations).toEqual([]);
    expect(check.distance).toBeCloseTo(total(s), 9);
  });

  it('exchanges two pairs between routes when neither fits beside the other (capacity), with vehicles at two depots', () => {
    // vehicle 0 lives in the west, vehicle 1 in the east; a (east) rides vehicle 0 and b (west) vehicle 1. Both pairs
    // are on board during [200, 300], and a vehicle carries one at a time: only an exchange can mend it.
    const p: RoutingProblem = {
      name: 'pair-exchange', format: 'custom', capacity: 10, fleetSize: 2,
      nodes: [node(0, 0, 0, 'depot'), node(1, 100, 0, 'depot'), node(2, 100, 10, 'pickup', 3, 10, 0, 200), node(3, 100, 20, 'delivery', 2, -10, 300, 400), node(4, 0, 10, 'pickup', 5, 10, 0, 200), node(5, 0, 20, 'delivery', 4, -10, 300, 400)],
      vehicles: [
        { start: 0, end: 0, capacity: 10, ready: 0, due: 1000 },
        { start: 1, end: 1, capacity: 10, ready: 0, due: 1000 },
      ],
    };
    const inst = new Instance(p);
    const s = plan(inst, [[2, 3], [4, 5]]);
    expect(new LocalSearch(inst).improve(s, Date.now() + 5000)).toBe(true);
    expect(s.routes.map((r) => r.nodes)).toEqual([[4, 5], [2, 3]]);
    expect(total(s)).toBeCloseTo(80, 9);
    expect(checkSolution(p, s.routes.map((r) => r.nodes)).violations).toEqual([]);
  });
});
