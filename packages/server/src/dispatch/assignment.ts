/**
 * Min-cost assignment (the Hungarian method with potentials, O(n²·m)) on a rectangular cost matrix.
 * `Infinity` marks a forbidden pair (rider out of scope or range). The result has the most pairs
 * possible among allowed ones and, among those, the least total cost: forbidden pairs get a cost
 * larger than any sum of allowed ones, so the solver only uses one when nothing else fits, and such
 * pairs are dropped from the answer.
 */
export interface Assignment {
  /** [row, col] pairs, rows ascending */
  pairs: [number, number][];
  /** sum of the chosen pairs' costs */
  total: number;
}

export function minCostAssignment(cost: readonly (readonly number[])[]): Assignment {
  const rows = cost.length;
  const cols = rows ? cost[0]!.length : 0;
  if (rows === 0 || cols === 0) return { pairs: [], total: 0 };
  for (const r of cost) if (r.length !== cols) throw new RangeError('minCostAssignment: every row needs the same number of columns');
  let finiteSum = 0;
  for (const r of cost) for (const c of r) {
    if (Number.isNaN(c) || c === -Infinity || c < 0) throw new RangeError('minCostAssignment: costs are non-negative numbers or Infinity');
    if (c !== Infinity) finiteSum += c;
  }
  const big = finiteSum * 2 + 1;
  // The method needs rows <= cols: solve the transpose when there are more rows.
  const transpose = rows > cols;
  const n = transpose ? cols : rows;
  const m = transpose ? rows : cols;
  const at = (i: number, j: number): number => {
    const c = transpose ? cost[j]![i]! : cost[i]![j]!;
    return c === Infinity ? big : c;
  };
  // 1-based arrays as in the textbook formulation; column 0 is the virtual start.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1); // p[j] = row matched to column j (0 = none)
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = at(i0 - 1, j - 1) - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          const pi = p[j]!;
          u[pi] = u[pi]! + delta;
          v[j] = v[j]! - delta;
        } else minv[j] = minv[j]! - delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const pairs: [number, number][] = [];
  let total = 0;
  for (let j = 1; j <= m; j++) {
    const i = p[j]!;
    if (i === 0) continue;
    const [r, c] = transpose ? [j - 1, i - 1] : [i - 1, j - 1];
    const value = cost[r]![c]!;
    if (value === Infinity) continue;
    pairs.push([r, c]);
    total += value;
  }
  pairs.sort((a, b) => a[0] - b[0]);
  return { pairs, total };
}
