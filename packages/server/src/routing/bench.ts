import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { InfraError } from '@infra/core/errors';
import { checkSolution } from './check.js';
import { parseInstance } from './parse.js';
import { solve } from './solve.js';
import type { RoutingProblem } from './problem.js';

export interface DispatchBenchOptions {
  instance: string;
  timeLimitMs: number;
  seed: number;
  /** best known distance, for the gap */
  bks?: number;
}

export interface DispatchBenchResult {
  name: string;
  format: RoutingProblem['format'];
  requests: number;
  fleet: number;
  vehicles: number;
  distance: number;
  timeMs: number;
  routes: number[][];
  /** (distance - bks) / bks, in percent */
  gapPercent?: number;
  construction: { distance: number; vehicles: number };
  iterations: number;
}

export function readInstanceFile(path: string): RoutingProblem {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InfraError('INFRA_ERR_DISPATCH_BAD_INSTANCE', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseInstance(text, path, basename(path).replace(/\.[^.]*$/, ''));
}

/** `infra bench dispatch`: read, solve in a worker, re-check the result independently, report. */
export async function runDispatchBench(opts: DispatchBenchOptions): Promise<DispatchBenchResult> {
  const problem = readInstanceFile(opts.instance);
  const started = Date.now();
  const solution = await solve(problem, { timeLimitMs: opts.timeLimitMs, seed: opts.seed });
  const timeMs = Date.now() - started;
  if (solution.unassigned.length > 0) {
    throw new InfraError('INFRA_ERR_DISPATCH_INFEASIBLE', `${problem.name}: ${solution.unassigned.length} customers/tasks fit on none of the ${problem.fleetSize} vehicles (ids ${solution.unassigned.slice(0, 10).join(', ')}${solution.unassigned.length > 10 ? ', …' : ''})`);
  }
  const check = checkSolution(problem, solution.routes);
  if (!check.feasible) {
    throw new InfraError('INFRA_ERR_DISPATCH_INFEASIBLE', `${problem.name}: the solver's plan fails the checker: ${check.violations[0]!.message}${check.violations.length > 1 ? ` (+${check.violations.length - 1} more)` : ''}`);
  }
  const requests = problem.nodes.filter((n) => n.kind === 'single' || n.kind === 'pickup').length;
  return {
    name: problem.name,
    format: problem.format,
    requests,
    fleet: problem.fleetSize,
    vehicles: check.vehicles,
    distance: check.distance,
    timeMs,
    routes: solution.routes,
    ...(opts.bks !== undefined ? { gapPercent: ((check.distance - opts.bks) / opts.bks) * 100 } : {}),
    construction: solution.construction,
    iterations: solution.iterations,
  };
}
