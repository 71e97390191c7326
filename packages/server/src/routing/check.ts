import type { RoutingProblem } from './problem.js';

export type ViolationKind = 'unknown' | 'duplicate' | 'missing' | 'capacity' | 'window' | 'precedence' | 'fleet' | 'depot' | 'skills' | 'fixed';

export interface Violation {
  kind: ViolationKind;
  /** the vehicle (0-based route index) or -1 for the whole solution */
  route: number;
  message: string;
}

export interface CheckResult {
  feasible: boolean;
  violations: Violation[];
  /** total length of the routes, start to end, unrounded (Euclidean, or the problem's travel matrix) */
  distance: number;
  vehicles: number;
}

/**
 * Validates a solution from scratch, sharing no code with the solver: every customer or task once,
 * pickup and its delivery on the same vehicle with the pickup first, load within [0, capacity] on every leg
 * (a single visit's goods ride from the start or the last reload stop to it), service starting within each window
 * (waiting allowed), back at the end by the shift's end, no more vehicles than the fleet, skills, reload stops
 * only of that vehicle, started steps first and in order. Routes are the instance's own ids, start and end excluded;
 * with `problem.vehicles`, routes[v] is vehicle v's route.
 */
export function checkSolution(problem: RoutingProblem, routes: readonly (readonly number[])[]): CheckResult {
  const violations: Violation[] = [];
  const { nodes } = problem;
  const depot = nodes[0]!;
  const n = nodes.length;
  const indexOfId = new Map<number, number>();
  nodes.forEach((node, i) => {
    if (node.kind !== 'depot') indexOfId.set(node.id, i);
  });
  const routeOf = new Map<number, { route: number; pos: number }>();
  const used = routes.filter((r) => r.some((id) => nodes[indexOfId.get(id) ?? 0]?.kind !== 'reload'));
  const fleet = problem.vehicles ? problem.vehicles.length : problem.fleetSize;
  if (used.length > fleet || (problem.vehicles && routes.length > fleet)) {
    violations.push({ kind: 'fleet', route: -1, message: `${Math.max(used.length, routes.length)} vehicles used, fleet is ${fleet}` });
  }
  let distance = 0;
  const leg = (a: number, b: number): number => (problem.matrix ? problem.matrix[a * n + b]! : Math.hypot(nodes[a]!.x - nodes[b]!.x, nodes[a]!.y - nodes[b]!.y));
  const fixedNodes = new Set(problem.vehicles?.flatMap((v) => v.fixed ?? []) ?? []);

  // with a heterogeneous fleet every vehicle is checked (its started steps), routed or not
  const perVehicle = problem.vehicles && routes.length <= problem.vehicles.length ? problem.vehicles.map((_, i) => routes[i] ?? []) : routes;
  perVehicle.forEach((route, r) => {
    const vehicle = problem.vehicles?.[r] ?? { start: 0, end: 0, capacity: problem.capacity, ready: depot.ready, due: depot.due };
    const fixed = vehicle.fixed ?? [];
    fixed.forEach((x, k) => {
      if (indexOfId.get(route[k] ?? -1) !== x) violations.push({ kind: 'fixed', route: r, message: `started step ${nodes[x]!.id} is not at position ${k} of vehicle ${r}` });
    });
    if (!route.some((id) => nodes[indexOfId.get(id) ?? 0]?.kind !== 'reload')) return;
    const skills = new Set(vehicle.skills ?? []);
    // goods for single visits are loaded at the start of each trip
    const idx = route.map((id) => indexOfId.get(id));
    let time = vehicle.ready;
    let at = vehicle.start;
    let tripStart = 0;
    const tripGoods = (from: number): number => {
      let sum = 0;
      for (let k = from; k < idx.length; k++) {
        const i = idx[k];
        if (i === undefined) continue;
        if (nodes[i]!.kind === 'reload') break;
        if (nodes[i]!.kind === 'single') sum += nodes[i]!.demand;
      }
      return sum;
    };
    let load = tripGoods(tripStart);
    if (load > vehicle.capacity + 1e-9) violations.push({ kind: 'capacity', route: r, message: `leaves with ${load} on board, capacity ${vehicle.capacity}` });
    route.forEach((id, pos) => {
      const i = idx[pos];
      if (i === undefined) {
        violations.push({ kind: id === depot.id ? 'depot' : 'unknown', route: r, message: `id ${id} is not a customer/task of the instance` });
        return;
      }
      const node = nodes[i]!;
      if (routeOf.has(i)) {
        violations.push({ kind: 'duplicate', route: r, message: `id ${id} is visited more than once` });
        return;
      }
      routeOf.set(i, { route: r, pos });
      if (node.kind === 'reload' && !(vehicle.reloads ?? []).includes(i)) violations.push({ kind: 'unknown', route: r, message: `reload stop ${id} is not one of vehicle ${r}'s` });
      if (!(node.skills ?? []).every((x) => skills.has(x))) violations.push({ kind: 'skills', route: r, message: `id ${id} needs skills ${node.skills!.join(', ')} that vehicle ${r} lacks` });
      const l = leg(at, i);
      distance += l;
      time = Math.max(time + nodes[at]!.service + l, node.ready);
      if (time > node.due + 1e-9 && !fixedNodes.has(i)) {
        violations.push({ kind: 'window', route: r, message: `id ${id}: service starts at ${time.toFixed(3)} after its due time ${node.due}` });
      }
      if (node.kind === 'single') load -= node.demand;
      else if (node.kind === 'reload') {
        tripStart = pos + 1;
        load += tripGoods(tripStart);
      } else load += node.demand;
      if (load > vehicle.capacity + 1e-9 || load < -1e-9) {
        violations.push({ kind: 'capacity', route: r, message: `id ${id}: load ${load} outside [0, ${vehicle.capacity}]` });
      }
      at = i;
    });
    const back = leg(at, vehicle.end);
    distance += back;
    time += nodes[at]!.service + back;
    if (time > vehicle.due + 1e-9) {
      violations.push({ kind: 'window', route: r, message: `returns to the end at ${time.toFixed(3)} after the shift's end ${vehicle.due}` });
    }
  });

  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    if (node.kind === 'depot' || node.kind === 'reload') continue;
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
