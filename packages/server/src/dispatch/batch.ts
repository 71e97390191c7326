import { minCostAssignment } from './assignment.js';

/** Batch cost: every unit a rider already carries (or is matched to in the same round) counts as this many seconds of travel. */
export const LOAD_PENALTY_S = 120;

export interface BatchRider {
  id: string;
  load: number;
  /** capacity units still free (capacity - load - units of pending offers) */
  free: number;
}

export interface BatchPair {
  /** index into the jobs given */
  job: number;
  riderId: string;
  /** the rider's k-th slot in this round (0 = their first job of the round) */
  k: number;
  cost: number;
}

/**
 * One batch round as an assignment problem: rows are jobs, columns are rider slots (one per free capacity unit,
 * at most one per job). A rider's k-th slot costs the job's travel seconds plus (load + k) x LOAD_PENALTY_S, so
 * stacking work on one rider only wins when it saves more travel than the load costs. A job's candidates are the
 * only riders it may get. The most jobs are matched, then the least total cost.
 */
export function planBatch(jobs: { candidates: Map<string, number> }[], riders: BatchRider[]): { pairs: BatchPair[]; total: number; slots: number } {
  const slots: { rider: BatchRider; k: number }[] = [];
  for (const r of riders) for (let k = 0; k < Math.min(r.free, jobs.length); k++) slots.push({ rider: r, k });
  const cost = jobs.map((j) => slots.map((s) => {
    const travel = j.candidates.get(s.rider.id);
    return travel === undefined ? Infinity : travel + (s.rider.load + s.k) * LOAD_PENALTY_S;
  }));
  const { pairs, total } = minCostAssignment(cost);
  return { pairs: pairs.map(([row, col]) => ({ job: row, riderId: slots[col]!.rider.id, k: slots[col]!.k, cost: cost[row]![col]! })), total, slots: slots.length };
}
