export type { NodeKind, RoutingNode, RoutingProblem, RoutingSolution, RoutingVehicle, SolveOptions } from './problem.js';
export { distanceMatrix } from './problem.js';
export { checkSolution, type CheckResult, type Violation, type ViolationKind } from './check.js';
export { detectFormat, parseInstance, parseLiLim, parseSolomon, type InstanceFormat } from './parse.js';
export { solveSync } from './alns.js';
export { solve } from './solve.js';
export { readInstanceFile, runDispatchBench, type DispatchBenchOptions, type DispatchBenchResult } from './bench.js';
export { RoutePlanner, type RoutePlannerConfig } from './plan.js';
export { haversineM, haversineMatrix, osrmMatrix, type LatLng, type TravelMatrix } from './matrix.js';
