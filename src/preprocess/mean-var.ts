import { asRowBlocks, type RowBlocks } from '../io/row-blocks.js';
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
 * Mean and variance of every column of a cells x genes matrix over the rows of each group (`groups[r]` in
 * 0..nGroups-1, -1 leaves row r out; one group of every row when null), in float64 with two passes over the
 * rows (deviations from the mean, zeros counted once per column), after mapping each stored value through
 * `transform` (e.g. Math.expm1 to undo log1p). A group's rows are summed in row order, block after block.
 */
export function geneMeanVarByGroup(
  matrix: CsrMatrix | RowBlocks,
  groups: Int32Array | null,
  nGroups: number,
  transform?: (value: number) => number,
): GeneMeanVar[] {
  const source = asRowBlocks(matrix);
  const { nCols } = source;
  const groupOf = (row: number) => (groups ? groups[row]! : 0);
  const sum = new Float64Array(nGroups * nCols);
  const nCells = new Int32Array(nGroups * nCols);
  const stored = new Int32Array(nGroups * nCols);
  const nRows = new Float64Array(nGroups);
  source.eachBlock(({ nRows: blockRows, indptr, indices, data }, first) => {
    for (let r = 0; r < blockRows; r++) {
      const group = groupOf(first + r);
      if (group < 0) continue;
      nRows[group]!++;
      const offset = group * nCols;
      for (let k = indptr[r]!; k < indptr[r + 1]!; k++) {
        const value = transform ? transform(data[k]!) : data[k]!;
        const col = offset + indices[k]!;
        sum[col]! += value;
        stored[col]!++;
        if (value > 0) nCells[col]!++;
      }
    }
  });
  const mean = Float64Array.from(sum, (s, i) => s / nRows[Math.floor(i / nCols)]!);
  const squares = new Float64Array(nGroups * nCols);
  source.eachBlock(({ nRows: blockRows, indptr, indices, data }, first) => {
    for (let r = 0; r < blockRows; r++) {
      const group = groupOf(first + r);
      if (group < 0) continue;
      const offset = group * nCols;
      for (let k = indptr[r]!; k < indptr[r + 1]!; k++) {
        const col = offset + indices[k]!;
        const deviation = (transform ? transform(data[k]!) : data[k]!) - mean[col]!;
        squares[col]! += deviation * deviation;
      }
    }
  });
  return Array.from({ length: nGroups }, (_, group) => {
    const n = nRows[group]!;
    const at = (array: Float64Array | Int32Array) => array.subarray(group * nCols, (group + 1) * nCols);
    const groupMean = Float64Array.from(at(mean));
    const groupSquares = at(squares);
    const groupStored = at(stored);
    const variance = Float64Array.from(groupMean, (m, col) => (groupSquares[col]! + (n - groupStored[col]!) * m ** 2) / (n - 1));
    return { mean: groupMean, variance, nCells: Int32Array.from(at(nCells)) };
  });
}

/** Mean and variance of every column over all rows (see geneMeanVarByGroup). */
export function geneMeanVar(matrix: CsrMatrix | RowBlocks, transform?: (value: number) => number): GeneMeanVar {
  return geneMeanVarByGroup(matrix, null, 1, transform)[0]!;
}
