import { parentPort, workerData } from 'node:worker_threads';
import { solveSync } from './alns.js';
import type { RoutingProblem, SolveOptions } from './problem.js';

// Runs one solve off the main thread (see solve.ts) and posts the result or the error message back.
const { problem, options } = workerData as { problem: RoutingProblem; options: SolveOptions };
try {
  parentPort!.postMessage({ ok: true, solution: solveSync(problem, options) });
} catch (err) {
  parentPort!.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) });
}
