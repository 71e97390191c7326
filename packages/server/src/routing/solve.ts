import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RoutingProblem, RoutingSolution, SolveOptions } from './problem.js';

/**
 * The compiled worker script. Under vitest this module runs from src/ (TypeScript), where a worker
 * cannot load a .ts file, so it falls back to the build output in dist/ (`npx tsc -b` first).
 */
function workerUrl(): URL {
  const beside = new URL('./solve-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL('../../dist/routing/solve-worker.js', import.meta.url);
}

/**
 * Solves in a worker thread, so a server's event loop keeps answering while the search runs
 * for up to `timeLimitMs` (construction included; it is never cut short).
 */
export function solve(problem: RoutingProblem, options: SolveOptions): Promise<RoutingSolution> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerUrl(), { workerData: { problem, options: { ...options, startedAt: options.startedAt ?? Date.now() } } });
    let settled = false;
    worker.once('message', (msg: { ok: true; solution: RoutingSolution } | { ok: false; message: string }) => {
      settled = true;
      if (msg.ok) resolve(msg.solution);
      else reject(new Error(`routing solver failed: ${msg.message}`));
    });
    worker.once('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`routing solver worker exited with code ${code} before answering`));
    });
  });
}
