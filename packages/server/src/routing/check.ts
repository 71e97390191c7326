import type { RoutingProblem } from './problem.js';

export type ViolationKind = 'unknown' | 'duplicate' | 'missing' | 'capacity' | 'window' | 'precedence' | 'fleet' | 'depot';

export interface Violation {
  kind: ViolationKind;
  /** the vehicle (0-based route index) or -1 for the whole solution */
  route: number;
  message: string;
}

export interface CheckResult {
  feasible: boolean;
  violations: Violation[];
  /** total Euclidean distance of the routes, depot to depot, unrounded */
  distance: number;
  vehicles: number;
}

/**
 * Validates a solution from scratch, sharing no code with the solver: every customer or task once,
 * pickup and its delivery on the same vehicle with the pickup first, load within [0, capacity] after
 * every visit, service starting within each window (waiting allowed), back at the depot by its due time,
 * no more vehicles than the fleet. Routes are the instance's own ids, depot excluded.
 */
export function checkSolution(problem: RoutingProblem, routes: readonly (readonly number[])[]): CheckResult {
  const violations: Violation[] = [];
  const { nodes } = problem;
  const depot = nodes[0]!;
  const indexOfId = new Map<number, number>();
  nodes.forEach((n, i) => {
    if (i > 0) indexOfId.set(n.id, i);
  });
  const routeOf = new Map<number, { route: number; pos: number }>();
  const used = routes.filter((r) => r.length > 0);
  if (used.length > problem.fleetSize) {
    violations.push({ kind: 'fleet', route: -1, message: `${used.length} vehicles used, fleet is ${problem.fleetSize}` });
  }
  let distance = 0;
  const dist = (a: { x: number; y: number }, b: { x: number; y: number }): number => Math.hypot(a.x - b.x, a.y - b.y);

  routes.forEach((route, r) => {
    if (route.length === 0) return;
    let time = depot.ready;
    let load = 0;
    let at = depot;
    let maxLoad = 0;
    route.forEach((id, pos) => {
      const idx = indexOfId.get(id);
      if (idx === undefined) {
        violations.push({ kind: id === depot.id ? 'depot' : 'unknown', route: r, message: `id ${id} is not a customer/task of the instance` });
        return;
      }
      if (routeOf.has(idx)) {
        violations.push({ kind: 'duplicate', route: r, message: `id ${id} is visited more than once` });
        return;
      }
      routeOf.set(idx, { route: r, pos });
      const node = nodes[idx]!;
      const leg = dist(at, node);
      distance += leg;
      time = Math.max(time + leg, node.ready);
      if (time > node.due + 1e-9) {
        violations.push({ kind: 'window', route: r, message: `id ${id}: service starts at ${time.toFixed(3)} after its due time ${node.due}` });
      }
      time += node.service;
      load += node.demand;
      maxLoad = Math.max(maxLoad, load);
      if (load > problem.capacity + 1e-9 || load < -1e-9) {
        violations.push({ kind: 'capacity', route: r, message: `id ${id}: load ${load} outside [0, ${problem.capacity}]` });
      }
      at = node;
    });
    const back = dist(at, depot);
    distance += back;
    time += back;
    if (time > depot.due + 1e-9) {
      violations.push({ kind: 'window', route: r, message: `returns to the depot at ${time.toFixed(3)} after its due time ${depot.due}` });
    }
  });

  for (let i = 1; i < nodes.length; i++) {
    const node = nodes[i]!;
    const seen = routeOf.get(i);
    if (!seen) {
      violations.push({ kind: 'missing', route: -1, message: `id ${node.id} is not visited` });
      continue;
    }
    if (node.kind === 'pickup') {
      const other = routeOf.get(node.sibling);
      if (!other) continue; // reported as missing
      if (other.route !== seen.route) {
        violations.push({ kind: 'precedence', route: seen.route, message: `pickup ${node.id} and its delivery ${nodes[node.sibling]!.id} are on different vehicles` });
      } else if (other.pos < seen.pos) {
        violations.push({ kind: 'precedence', route: seen.route, message: `delivery ${nodes[node.sibling]!.id} comes before its pickup ${node.id}` });
      }
    }
  }
  return { feasible: violations.length === 0, violations, distance, vehicles: used.length };
}
