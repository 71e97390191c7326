/**
 * The routing problem: one depot (node 0), customers or pickup/delivery tasks, a homogeneous fleet.
 * Covers VRPTW (every customer a single visit) and PDPTW (pairs served by one vehicle, pickup first).
 * Travel time equals Euclidean distance (the convention of the Solomon and Li & Lim tables).
 */
export type NodeKind = 'depot' | 'single' | 'pickup' | 'delivery' | 'reload';

export interface RoutingNode {
  /** the instance's own id (Solomon CUST NO., Li & Lim task id) */
  id: number;
  x: number;
  y: number;
  /** a single visit: what it receives, carried from the start (or the last reload); a pickup: > 0 loaded there;
   * a delivery: < 0, its pickup's load unloaded (for the Solomon tables, where every route carries at most the
   * capacity, both readings of a customer's demand give the same feasibility) */
  demand: number;
  ready: number;
  due: number;
  service: number;
  kind: NodeKind;
  /** for a pickup: index of its delivery; for a delivery: index of its pickup; otherwise -1 */
  sibling: number;
  /** skills a vehicle needs to serve this visit (both halves of a pair carry the same) */
  skills?: string[];
}

/**
 * One vehicle of a heterogeneous fleet (the HTTP plan endpoint). Without `vehicles`, a problem has `fleetSize`
 * identical vehicles at node 0 with `capacity`, working within node 0's window (the benchmark formats).
 */
export interface RoutingVehicle {
  /** node index where it leaves from and where it must end (kind 'depot') */
  start: number;
  end: number;
  capacity: number;
  /** shift: leaves `start` no earlier than `ready`, back at `end` by `due` */
  ready: number;
  due: number;
  skills?: string[];
  /** node indices that must open its route in this order (steps already started: re-planning keeps them) */
  fixed?: number[];
  /** node indices of kind 'reload' it may use: a stop at a depot that empties and reloads it (multi-trip) */
  reloads?: number[];
}

export interface RoutingProblem {
  name: string;
  format: 'solomon' | 'lilim' | 'custom';
  capacity: number;
  /** the most vehicles a solution may use */
  fleetSize: number;
  /** nodes[0] is the depot; its window is the planning horizon */
  nodes: RoutingNode[];
  /** a heterogeneous fleet; when given, `fleetSize` and `capacity` are ignored */
  vehicles?: RoutingVehicle[];
  /** travel times, row-major n*n, used as both the cost and the time of a leg; Euclidean distance when absent */
  matrix?: number[];
}

export interface SolveOptions {
  /** wall-clock budget of the whole solve, ms (construction first, never cut short; improvement until the deadline) */
  timeLimitMs: number;
  seed?: number;
  /** stop after this many improvement iterations: with it the result depends on the seed only */
  maxIterations?: number;
  /** epoch ms the budget counts from (default: when the solve starts); solve() sets it before starting its worker,
   * so the thread's start-up is inside the budget */
  startedAt?: number;
}

export interface RoutingSolution {
  /** each vehicle's visits as the instance's own ids, depot excluded (with `vehicles`: one list per vehicle, in
   * their order, empty when unused; without: the used vehicles only) */
  routes: number[][];
  distance: number;
  vehicles: number;
  /** requests that could not be placed within the fleet (empty when feasible) */
  unassigned: number[];
  /** the construction heuristic's result, before improvement */
  construction: { distance: number; vehicles: number };
  iterations: number;
  timeMs: number;
}

/** travel time of a pair a travel-time service cannot connect: far above any real leg, still finite */
export const UNREACHABLE = 1e7;

/** Full distance matrix, row-major (n*n), Euclidean, unrounded. */
export function distanceMatrix(nodes: readonly RoutingNode[]): Float64Array {
  const n = nodes.length;
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const a = nodes[i]!;
    for (let j = i + 1; j < n; j++) {
      const b = nodes[j]!;
      const v = Math.hypot(a.x - b.x, a.y - b.y);
      d[i * n + j] = v;
      d[j * n + i] = v;
    }
  }
  return d;
}
