import { describe, expect, it } from 'vitest';
import { mulberry32 as rng } from '@infra/core';
import { minCostAssignment } from './assignment.js';
import { LOAD_PENALTY_S, planBatch } from './batch.js';

/** Every injective row→column map (rows may stay unmatched only when forbidden): most pairs first, then least cost. */
function bruteForce(cost: number[][]): { count: number; total: number } {
  const rows = cost.length;
  const cols = cost[0]?.length ?? 0;
  let best = { count: -1, total: Infinity };
  const usedCols = new Array<boolean>(cols).fill(false);
  const walk = (r: number, count: number, total: number): void => {
    if (r === rows) {
      if (count > best.count || (count === best.count && total < best.total - 1e-9)) best = { count, total };
      return;
    }
    walk(r + 1, count, total); // row r unmatched
    for (let c = 0; c < cols; c++) {
      if (usedCols[c] || cost[r]![c] === Infinity) continue;
      usedCols[c] = true;
      walk(r + 1, count + 1, total + cost[r]![c]!);
      usedCols[c] = false;
    }
  };
  walk(0, 0, 0);
  return best;
}

describe('minCostAssignment (Hungarian)', () => {
  it('solves a 3x3 case checkable by hand', () => {
    // rows = jobs, cols = riders. Greedy (row 0 takes its cheapest, 1) would cost 1 + 8 + 7 = 16 (or worse);
    // the optimum is 0→2 (3), 1→1 (2), 2→0 (4) = 9.
    const cost = [
      [4, 1, 3],
      [2, 2, 8],
      [4, 9, 7],
    ];
    // enumerate by hand: (0,1,2)=4+2+7=13 (0,2,1)=4+8+9=21 (1,0,2)=1+2+7=10 (1,2,0)=1+8+4=13 (2,0,1)=3+2+9=14 (2,1,0)=3+2+4=9
    expect(minCostAssignment(cost)).toEqual({ pairs: [[0, 2], [1, 1], [2, 0]], total: 9 });
  });

  it('rectangular both ways, and forbidden pairs are never used', () => {
    expect(minCostAssignment([[5, 1, 9, 2]])).toEqual({ pairs: [[0, 1]], total: 1 });
    expect(minCostAssignment([[5], [1], [9]])).toEqual({ pairs: [[1, 0]], total: 1 });
    // row 1 may only take column 0, so row 0 must give it up although 0 is its cheapest
    expect(minCostAssignment([[1, 10], [3, Infinity]])).toEqual({ pairs: [[0, 1], [1, 0]], total: 13 });
    // nothing allowed for row 1: it stays unmatched
    expect(minCostAssignment([[2, 4], [Infinity, Infinity]])).toEqual({ pairs: [[0, 0]], total: 2 });
    expect(minCostAssignment([])).toEqual({ pairs: [], total: 0 });
    expect(() => minCostAssignment([[1, 2], [3]])).toThrow(RangeError);
    expect(() => minCostAssignment([[-1]])).toThrow(RangeError);
  });

  it('matches brute force on 600 random small matrices (1..6 x 1..6, some forbidden pairs)', () => {
    const next = rng(42);
    for (let k = 0; k < 600; k++) {
      const rows = 1 + Math.floor(next() * 6);
      const cols = 1 + Math.floor(next() * 6);
      const cost = Array.from({ length: rows }, () => Array.from({ length: cols }, () => (next() < 0.2 ? Infinity : Math.round(next() * 1000) / 10)));
      const got = minCostAssignment(cost);
      const want = bruteForce(cost);
      expect({ k, count: got.pairs.length, total: Math.round(got.total * 1e6) / 1e6 }).toEqual({ k, count: want.count, total: Math.round(want.total * 1e6) / 1e6 });
      // a valid matching: distinct rows and columns, allowed pairs only, total adds up
      expect(new Set(got.pairs.map((p) => p[0])).size).toBe(got.pairs.length);
      expect(new Set(got.pairs.map((p) => p[1])).size).toBe(got.pairs.length);
      expect(got.pairs.every(([r, c]) => cost[r]![c] !== Infinity)).toBe(true);
      expect(got.pairs.reduce((s, [r, c]) => s + cost[r]![c]!, 0)).toBeCloseTo(got.total, 6);
    }
  });
});

describe('planBatch (rider slots with a load penalty)', () => {
  it('spreads work when stacking would cost more in load than it saves in travel', () => {
    expect(LOAD_PENALTY_S).toBe(120);
    // R1 (capacity 2, empty) is 100 s from both jobs, R2 (capacity 1) 150 s.
    // Both on R1: 100 + (100 + 120) = 320 s. One each: 100 + 150 = 250 s.
    const jobs = [{ candidates: new Map([['R1', 100], ['R2', 150]]) }, { candidates: new Map([['R1', 100], ['R2', 150]]) }];
    const plan = planBatch(jobs, [{ id: 'R1', load: 0, free: 2 }, { id: 'R2', load: 0, free: 1 }]);
    expect(plan.total).toBe(250);
    expect(plan.slots).toBe(3);
    expect(plan.pairs.map((p) => p.riderId).sort()).toEqual(['R1', 'R2']);
  });

  it('stacks when the other rider is far enough, counts existing load, and respects candidates and free slots', () => {
    // R2 is 400 s away: R1 twice costs 100 + 220 = 320 < 100 + 400
    const far = [{ candidates: new Map([['R1', 100], ['R2', 400]]) }, { candidates: new Map([['R1', 100], ['R2', 400]]) }];
    expect(planBatch(far, [{ id: 'R1', load: 0, free: 2 }, { id: 'R2', load: 0, free: 1 }]).pairs.map((p) => [p.riderId, p.k, p.cost])).toEqual([['R1', 0, 100], ['R1', 1, 220]]);
    // R1 already carries 1: its slots cost 100 + 120 and 100 + 240 = 560 in all, still below one each (220 + 400 = 620)
    expect(planBatch(far, [{ id: 'R1', load: 1, free: 2 }, { id: 'R2', load: 0, free: 1 }]).total).toBe(560);
    // a job with no candidate stays unmatched; a rider with no free unit has no slot
    const only = [{ candidates: new Map([['R1', 10]]) }, { candidates: new Map<string, number>() }];
    expect(planBatch(only, [{ id: 'R1', load: 0, free: 1 }]).pairs).toEqual([{ job: 0, riderId: 'R1', k: 0, cost: 10 }]);
    expect(planBatch(only, [{ id: 'R1', load: 1, free: 0 }]).pairs).toEqual([]);
  });
});
