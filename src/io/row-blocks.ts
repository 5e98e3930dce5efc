/**
 * A cells x genes matrix visited a block of consecutive rows at a time: a file's matrix in bounded memory
 * (./stored-matrix.ts), or a matrix in memory as one block. Streaming passes (QC, HVG statistics, the
 * highly variable columns) read it this way, so the same code serves a small upload and a million cells.
 */
import { submatrix } from './sparse.js';
import type { CsrMatrix } from './types.js';

export interface RowBlocks {
  readonly nRows: number;
  readonly nCols: number;
  /** Visits consecutive blocks of rows that cover every row in order; `first` is the block's first row. A file's blocks hold about `maxValues` stored values. */
  eachBlock(visit: (block: CsrMatrix, first: number) => void, maxValues?: number): void;
}

/** Stored values a file's matrix is read by at once (a block's indices and values: 8 bytes each). */
export const BLOCK_VALUES = 2 ** 24;

export function isRowBlocks(matrix: CsrMatrix | RowBlocks): matrix is RowBlocks {
  return 'eachBlock' in matrix;
}

/** A matrix in memory as a source of one block (itself), or of views of `maxValues` stored values when asked (how tests run the streaming code in many blocks). */
export function inMemoryBlocks(matrix: CsrMatrix): RowBlocks {
  return {
    nRows: matrix.nRows,
    nCols: matrix.nCols,
    eachBlock: (visit, maxValues) => {
      if (maxValues === undefined) return visit(matrix, 0);
      for (const [r0, r1] of blockRanges(matrix.indptr, matrix.nRows, maxValues)) visit(rowRange(matrix, r0, r1), r0);
    },
  };
}

export const asRowBlocks = (matrix: CsrMatrix | RowBlocks): RowBlocks => (isRowBlocks(matrix) ? matrix : inMemoryBlocks(matrix));

/** Rows [r0, r1) of a CSR matrix without copying its indices and values (indptr rebased to 0). */
export function rowRange(matrix: CsrMatrix, r0: number, r1: number): CsrMatrix {
  const base = matrix.indptr[r0]!;
  const end = matrix.indptr[r1]!;
  return {
    nRows: r1 - r0,
    nCols: matrix.nCols,
    indptr: Int32Array.from(matrix.indptr.subarray(r0, r1 + 1), (p) => p - base),
    indices: matrix.indices.subarray(base, end),
    data: matrix.data.subarray(base, end),
  };
}

/** Consecutive row ranges [r0, r1) of at most `maxValues` stored values each (a row longer than that is a block of its own). */
export function blockRanges(indptr: ArrayLike<number>, nRows: number, maxValues = BLOCK_VALUES): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let r0 = 0;
  for (let r = 1; r <= nRows; r++) {
    if (r === nRows || indptr[r + 1]! - indptr[r0]! > maxValues) {
      ranges.push([r0, r]);
      r0 = r;
    }
  }
  return ranges;
}

/** The rows flagged in `keepRows` (every row when null) and the columns `columns` (see submatrix; every column when null), block by block. */
export function subsetBlocks(source: RowBlocks, keepRows: Uint8Array | null, columns: Int32Array | null): RowBlocks {
  const nRows = keepRows ? keepRows.reduce((n, flag) => n + (flag ? 1 : 0), 0) : source.nRows;
  return {
    nRows,
    nCols: columns ? columns.length : source.nCols,
    eachBlock: (visit, maxValues) => {
      let kept = 0;
      source.eachBlock((block, first) => {
        const rows = keepRows ? localRows(keepRows, first, block.nRows) : null;
        if (rows?.length === 0) return;
        visit(submatrix(block, rows, columns), kept);
        kept += rows ? rows.length : block.nRows;
      }, maxValues);
    },
  };
}

function localRows(keepRows: Uint8Array, first: number, n: number): Int32Array {
  const rows: number[] = [];
  for (let r = 0; r < n; r++) if (keepRows[first + r]) rows.push(r);
  return Int32Array.from(rows);
}

/** Each block's values mapped by `map(block, first)` (same indptr and indices): normalisation, log1p. */
export function mapBlocks(source: RowBlocks, map: (block: CsrMatrix, first: number) => Float32Array): RowBlocks {
  return {
    nRows: source.nRows,
    nCols: source.nCols,
    eachBlock: (visit, maxValues) => source.eachBlock((block, first) => visit({ ...block, data: map(block, first) }, first), maxValues),
  };
}

/** `source`, telling `report` after each block the share of its rows the pass has read. */
export function reportingBlocks(source: RowBlocks, report: (fraction: number) => void): RowBlocks {
  return {
    nRows: source.nRows,
    nCols: source.nCols,
    eachBlock: (visit, maxValues) =>
      source.eachBlock((block, first) => {
        visit(block, first);
        report((first + block.nRows) / Math.max(1, source.nRows));
      }, maxValues),
  };
}

/** Every block gathered into one CSR matrix. */
export function gatherBlocks(source: RowBlocks, maxValues?: number): CsrMatrix {
  const blocks: CsrMatrix[] = [];
  source.eachBlock((block) => blocks.push(block), maxValues);
  if (blocks.length === 1) return blocks[0]!;
  const nnz = blocks.reduce((n, b) => n + b.data.length, 0);
  const indptr = new Int32Array(source.nRows + 1);
  const indices = new Int32Array(nnz);
  const data = new Float32Array(nnz);
  let row = 0;
  let offset = 0;
  for (const block of blocks) {
    for (let r = 1; r <= block.nRows; r++) indptr[row + r] = offset + block.indptr[r]!;
    indices.set(block.indices, offset);
    data.set(block.data, offset);
    row += block.nRows;
    offset += block.data.length;
  }
  return { nRows: source.nRows, nCols: source.nCols, indptr, indices, data };
}
