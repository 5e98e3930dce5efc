import type { CsrMatrix } from '../io/types.js';

/** Per-gene summaries over a set of cells. */
export interface GeneMeanVar {
  readonly mean: Float64Array;
  /** Sample variance (denominator n - 1), as Seurat's SparseRowVar2 and scanpy's `mean_var(correction=1)`. */
  readonly variance: Float64Array;
  /** Cells with a positive value. */
  readonly nCells: Int32Array;
}

/**
 * Mean and variance of every column of a CSR matrix over `rows` (every row when omitted), in
 * float64 with two passes (deviations from the mean, zeros counted once per column), after
 * mapping each stored value through `transform` (e.g. Math.expm1 to undo log1p).
 */
export function geneMeanVar(
  matrix: CsrMatrix,
  options: { rows?: Int32Array; transform?: (value: number) => number } = {},
): GeneMeanVar {
  const { nCols, indptr, indices, data } = matrix;
  const { rows, transform } = options;
  const nRows = rows ? rows.length : matrix.nRows;
  const sum = new Float64Array(nCols);
  const nCells = new Int32Array(nCols);
  const stored = new Int32Array(nCols);
  for (let i = 0; i < nRows; i++) {
    const r = rows ? rows[i]! : i;
    const end = indptr[r + 1]!;
    for (let k = indptr[r]!; k < end; k++) {
      const value = transform ? transform(data[k]!) : data[k]!;
      const col = indices[k]!;
      sum[col]! += value;
      stored[col]!++;
      if (value > 0) nCells[col]!++;
    }
  }
  const mean = new Float64Array(nCols);
  for (let col = 0; col < nCols; col++) mean[col] = sum[col]! / nRows;
  const squares = new Float64Array(nCols);
  for (let i = 0; i < nRows; i++) {
    const r = rows ? rows[i]! : i;
    const end = indptr[r + 1]!;
    for (let k = indptr[r]!; k < end; k++) {
      const col = indices[k]!;
      const deviation = (transform ? transform(data[k]!) : data[k]!) - mean[col]!;
      squares[col]! += deviation * deviation;
    }
  }
  const variance = new Float64Array(nCols);
  for (let col = 0; col < nCols; col++) variance[col] = (squares[col]! + (nRows - stored[col]!) * mean[col]! ** 2) / (nRows - 1);
  return { mean, variance, nCells };
}

/**
 * Stable ascending argsort: positions of `keys` from smallest to largest, equal keys in index order
 * (as R's order()), NaN last. Uses the native numeric sort and no comparator calls.
 */
export function argsort(keys: Float64Array): Int32Array {
  const n = keys.length;
  const sorted = Float64Array.from(keys).sort();
  let numbers = n;
  while (numbers > 0 && Number.isNaN(sorted[numbers - 1]!)) numbers--;
  const taken = new Int32Array(n + 1);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    let start = numbers;
    if (!Number.isNaN(key)) {
      let lo = 0;
      let hi = numbers;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (sorted[mid]! < key) lo = mid + 1;
        else hi = mid;
      }
      start = lo;
    }
    order[start + taken[start]!++] = i;
  }
  return order;
}
