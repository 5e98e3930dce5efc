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
