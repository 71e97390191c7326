/**
 * The routing problem: one depot (node 0), customers or pickup/delivery tasks, a homogeneous fleet.
 * Covers VRPTW (every customer a single visit) and PDPTW (pairs served by one vehicle, pickup first).
 * Travel time equals Euclidean distance (the convention of the Solomon and Li & Lim tables).
 */
export type NodeKind = 'depot' | 'single' | 'pickup' | 'delivery';

export interface RoutingNode {
  /** the instance's own id (Solomon CUST NO., Li & Lim task id) */
  id: number;
  x: number;
  y: number;
  /** load change at the visit: > 0 picks up, < 0 delivers (a Solomon customer's demand is positive) */
  demand: number;
  ready: number;
  due: number;
  service: number;
  kind: NodeKind;
  /** for a pickup: index of its delivery; for a delivery: index of its pickup; otherwise -1 */
  sibling: number;
}

export interface RoutingProblem {
  name: string;
  format: 'solomon' | 'lilim' | 'custom';
  capacity: number;
  /** the most vehicles a solution may use */
  fleetSize: number;
  /** nodes[0] is the depot; its window is the planning horizon */
  nodes: RoutingNode[];
}

export interface SolveOptions {
  /** wall-clock budget of the whole solve, ms (construction first, never cut short; improvement until the deadline) */
  timeLimitMs: number;
  seed?: number;
  /** stop after this many improvement iterations: with it the result depends on the seed only */
  maxIterations?: number;
}

export interface RoutingSolution {
  /** each vehicle's visits as the instance's own ids, depot excluded */
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
