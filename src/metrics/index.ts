/**
 * Clustering agreement metrics between two labelings of the same cells (negative codes are skipped):
 * adjusted Rand index, normalised mutual information (arithmetic mean, as scikit-learn),
 * Hungarian-matched accuracy, and cluster purity (each cluster's majority label, weighted by size).
 */

/** Contingency table of the cells where both codes are non-negative. */
export function contingency(a: ArrayLike<number>, b: ArrayLike<number>): { table: number[][]; n: number } {
  if (a.length !== b.length) throw new Error(`labelings differ in length: ${a.length} vs ${b.length}`);
  const ids = (v: ArrayLike<number>) => {
    const m = new Map<number, number>();
    for (let i = 0; i < v.length; i++) if (v[i] >= 0 && !m.has(v[i])) m.set(v[i], m.size);
    return m;
  };
  const ia = ids(a);
  const ib = ids(b);
  const table = Array.from({ length: ia.size }, () => new Array<number>(ib.size).fill(0));
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] < 0 || b[i] < 0) continue;
    table[ia.get(a[i])!][ib.get(b[i])!]++;
    n++;
  }
  return { table, n };
}

const choose2 = (x: number) => (x * (x - 1)) / 2;
const rowSums = (t: number[][]) => t.map((r) => r.reduce((s, v) => s + v, 0));
const colSums = (t: number[][]) => (t.length ? t[0].map((_, j) => t.reduce((s, r) => s + r[j], 0)) : []);

export function adjustedRandIndex(truth: ArrayLike<number>, pred: ArrayLike<number>): number {
  const { table, n } = contingency(truth, pred);
  const index = table.flat().reduce((s, v) => s + choose2(v), 0);
  const sa = rowSums(table).reduce((s, v) => s + choose2(v), 0);
  const sb = colSums(table).reduce((s, v) => s + choose2(v), 0);
  const expected = (sa * sb) / choose2(n);
  const max = (sa + sb) / 2;
  if (max === expected) return 1; // both labelings trivial (one cluster, or all singletons)
  return (index - expected) / (max - expected);
}

function entropy(counts: number[], n: number): number {
  return counts.reduce((s, c) => (c > 0 ? s - (c / n) * Math.log(c / n) : s), 0);
}

export function normalizedMutualInfo(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const { table, n } = contingency(a, b);
  const ra = rowSums(table);
  const cb = colSums(table);
  let mi = 0;
  table.forEach((row, i) => row.forEach((v, j) => {
    if (v > 0) mi += (v / n) * Math.log((v * n) / (ra[i] * cb[j]));
  }));
  const ha = entropy(ra, n);
  const hb = entropy(cb, n);
  if (ha === 0 && hb === 0) return 1;
  const denom = (ha + hb) / 2;
  return denom === 0 ? 0 : Math.max(0, mi / denom);
}

/** Fraction of cells whose cluster's majority label is their own label. */
export function clusterPurity(truth: ArrayLike<number>, clusters: ArrayLike<number>): number {
  const { table, n } = contingency(clusters, truth);
  return table.reduce((s, row) => s + Math.max(...row), 0) / n;
}

/** Accuracy under the best one-to-one matching of clusters to labels (Hungarian algorithm). */
export function hungarianAccuracy(truth: ArrayLike<number>, clusters: ArrayLike<number>): number {
  const { table, n } = contingency(clusters, truth);
  const size = Math.max(table.length, table[0]?.length ?? 0);
  const cost = Array.from({ length: size }, (_, i) => Array.from({ length: size }, (_, j) => -(table[i]?.[j] ?? 0)));
  const assignment = minCostAssignment(cost);
  const matched = assignment.reduce((s, j, i) => s + (table[i]?.[j] ?? 0), 0);
  return matched / n;
}

/** Minimum-cost perfect matching on a square cost matrix (Kuhn–Munkres with potentials, O(n³)); row → column. */
export function minCostAssignment(cost: number[][]): number[] {
  const n = cost.length;
  const u = new Array<number>(n + 1).fill(0);
  const v = new Array<number>(n + 1).fill(0);
  const p = new Array<number>(n + 1).fill(0); // p[j]: row matched to column j (1-based)
  const way = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Array<number>(n + 1).fill(Infinity);
    const used = new Array<boolean>(n + 1).fill(false);
    do {
      used[j0] = true;
      const i0 = p[j0];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  const rowToCol = new Array<number>(n).fill(-1);
  for (let j = 1; j <= n; j++) if (p[j] > 0) rowToCol[p[j] - 1] = j - 1;
  return rowToCol;
}
