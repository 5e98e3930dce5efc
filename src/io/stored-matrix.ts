/**
 * A dataset's matrix as its file stores it, loaded only when asked: the shape is known at once, the stored values
 * are counted and sampled in bounded memory (what an upload's inspection needs), `eachBlock` reads it as checked
 * CSR a block of rows at a time (what a streaming pass needs), and `read` loads the whole matrix.
 */
import type { Dataset as H5Dataset } from 'h5wasm';
import { DatasetError } from './errors.js';
import { SLICE_ELEMENTS, assertDecodable, readNumeric, readRows } from './hdf5.js';
import { BLOCK_VALUES, blockRanges, inMemoryBlocks, type RowBlocks } from './row-blocks.js';
import { assertFitsInMemory, transposeCompressed, validateCsr } from './sparse.js';
import type { CsrMatrix } from './types.js';
import { gatherSample, sampleOf, sampleRanges } from './values.js';

export interface StoredMatrix extends RowBlocks {
  /** Stored values in the columns `keep` lists (every column when undefined), counted without loading them. */
  countValues(keep?: Int32Array): number;
  /** The stored values of `sampleRanges`, in stored order, for classifySample. */
  sampleValues(): Float32Array;
  read(): CsrMatrix;
}

/** Elements held at once while counting or sampling a file's matrix: bounded whatever the file's size. */
const SCAN_ELEMENTS = 2 ** 22;

function columnMask(nCols: number, keep: Int32Array): Uint8Array {
  const mask = new Uint8Array(nCols);
  for (const column of keep) mask[column] = 1;
  return mask;
}

export function matrixInMemory(X: CsrMatrix): StoredMatrix {
  return {
    nRows: X.nRows,
    nCols: X.nCols,
    countValues: (keep) => {
      if (!keep) return X.data.length;
      const mask = columnMask(X.nCols, keep);
      let count = 0;
      for (const column of X.indices) count += mask[column]!;
      return count;
    },
    sampleValues: () => sampleOf(X.data),
    eachBlock: (visit, maxValues) => inMemoryBlocks(X).eachBlock(visit, maxValues),
    read: () => X,
  };
}

export interface CompressedDatasets {
  data: H5Dataset;
  indices: H5Dataset;
  indptr: H5Dataset;
}

const lengthOf = (dataset: H5Dataset) => dataset.shape?.[0] ?? 0;

/**
 * A compressed sparse matrix of nRows cells x nCols genes stored by rows (`csr`: indices are genes) or by
 * columns (`csc`: indices are cells). The lengths of its three datasets are checked here, the rest as it is read.
 */
export function compressedInFile(datasets: CompressedDatasets, by: 'csr' | 'csc', nRows: number, nCols: number, what: string): StoredMatrix {
  const { data, indices, indptr } = datasets;
  for (const dataset of [data, indices, indptr]) assertDecodable(dataset);
  const nOuter = by === 'csr' ? nRows : nCols;
  const nnz = lengthOf(data);
  if (lengthOf(indptr) !== nOuter + 1) {
    throw new DatasetError('inconsistent_shape', `${what}: indptr has ${lengthOf(indptr)} entries for ${nOuter} ${by === 'csr' ? 'rows' : 'columns'} (expected ${nOuter + 1})`);
  }
  const last = readNumeric(indptr, Float64Array, nOuter, nOuter + 1)[0]!;
  if (lengthOf(indices) !== nnz || last !== nnz) {
    throw new DatasetError('inconsistent_shape', `${what}: indptr ends at ${last} but ${lengthOf(indices)} indices and ${nnz} values are stored`);
  }
  assertFitsInMemory(nnz, what);
  const read = (): CsrMatrix => {
    const pointers = readNumeric(indptr, Int32Array);
    const inner = readNumeric(indices, Int32Array);
    const values = readNumeric(data, Float32Array);
    if (by === 'csr') return validateCsr({ nRows, nCols, indptr: pointers, indices: inner, data: values }, what);
    validateCsr({ nRows: nCols, nCols: nRows, indptr: pointers, indices: inner, data: values }, what);
    return { nRows, nCols, ...transposeCompressed(nCols, nRows, pointers, inner, values) };
  };
  return {
    nRows,
    nCols,
    countValues: (keep) => {
      if (!keep) return nnz;
      if (by === 'csc') {
        const pointers = readNumeric(indptr, Float64Array);
        return keep.reduce((count, column) => count + pointers[column + 1]! - pointers[column]!, 0);
      }
      const mask = columnMask(nCols, keep);
      let count = 0;
      for (let from = 0; from < nnz; from += SCAN_ELEMENTS) {
        for (const column of readNumeric(indices, Int32Array, from, Math.min(nnz, from + SCAN_ELEMENTS))) count += mask[column] ?? 0;
      }
      return count;
    },
    sampleValues: () => gatherSample(nnz, (start, end) => readNumeric(data, Float32Array, start, end)),
    eachBlock: (visit, maxValues = BLOCK_VALUES) => {
      // A matrix stored by columns cannot be read by rows in slices: it is read whole.
      if (by === 'csc') return inMemoryBlocks(read()).eachBlock(visit, maxValues);
      const pointers = readNumeric(indptr, Float64Array);
      for (const [r0, r1] of blockRanges(pointers, nRows, maxValues)) {
        const [p0, p1] = [pointers[r0]!, pointers[r1]!];
        if (p1 < p0) throw new DatasetError('inconsistent_shape', `${what}: indptr decreases between rows ${r0} and ${r1}`);
        const blockPointers = Int32Array.from(pointers.subarray(r0, r1 + 1), (p) => p - p0);
        visit(validateCsr({ nRows: r1 - r0, nCols, indptr: blockPointers, indices: readNumeric(indices, Int32Array, p0, p1), data: readNumeric(data, Float32Array, p0, p1) }, `${what} (rows ${r0}-${r1 - 1})`), r0);
      }
    },
    read,
  };
}

/** Calls `visit(row, values)` for rows [r0, r1) of a dense 2-D dataset, `rowsPerRead` rows per slice. */
function eachRow(dataset: H5Dataset, r0: number, r1: number, rowsPerRead: number, visit: (row: number, block: ArrayLike<number | bigint>, base: number) => void): void {
  const nCols = dataset.shape![1]!;
  for (let from = r0; from < r1; from += rowsPerRead) {
    const to = Math.min(r1, from + rowsPerRead);
    const block = readRows(dataset, from, to);
    for (let r = from; r < to; r++) visit(r, block, (r - from) * nCols);
  }
}

/** A dense cells x genes dataset; its stored values are its nonzeros, as once read into CSR. */
export function denseInFile(dataset: H5Dataset): StoredMatrix {
  assertDecodable(dataset);
  const shape = dataset.shape ?? [];
  if (shape.length !== 2) throw new DatasetError('unsupported_layout', `dense matrix "${dataset.path}" has ${shape.length} dimensions, not 2`);
  const [nRows, nCols] = shape as [number, number];
  const rowsPer = (elements: number) => Math.max(1, Math.floor(elements / Math.max(1, nCols)));
  /** Rows [r0, r1) as checked CSR: the nonzeros of each row. */
  const rowsAsCsr = (r0: number, r1: number): CsrMatrix => {
    const indptr = new Int32Array(r1 - r0 + 1);
    let indices = new Int32Array(1024);
    let data = new Float32Array(1024);
    let nnz = 0;
    eachRow(dataset, r0, r1, rowsPer(SLICE_ELEMENTS), (r, block, base) => {
      for (let c = 0; c < nCols; c++) {
        const v = Number(block[base + c]);
        if (v === 0) continue;
        if (nnz === indices.length) {
          assertFitsInMemory(nnz * 2, `dense matrix "${dataset.path}"`);
          const grownIndices = new Int32Array(nnz * 2);
          grownIndices.set(indices);
          indices = grownIndices;
          const grownData = new Float32Array(nnz * 2);
          grownData.set(data);
          data = grownData;
        }
        indices[nnz] = c;
        data[nnz++] = v;
      }
      indptr[r - r0 + 1] = nnz;
    });
    return validateCsr({ nRows: r1 - r0, nCols, indptr, indices: indices.slice(0, nnz), data: data.slice(0, nnz) }, `"${dataset.path}"`);
  };
  return {
    nRows,
    nCols,
    countValues: (keep) => {
      const mask = keep ? columnMask(nCols, keep) : new Uint8Array(nCols).fill(1);
      let count = 0;
      eachRow(dataset, 0, nRows, rowsPer(SCAN_ELEMENTS), (_, block, base) => {
        for (let c = 0; c < nCols; c++) if (mask[c] && Number(block[base + c]) !== 0) count++;
      });
      return count;
    },
    sampleValues: () => {
      const sample: number[] = [];
      for (const [start, end] of sampleRanges(nRows * nCols)) {
        eachRow(dataset, Math.floor(start / nCols), Math.ceil(end / nCols), rowsPer(SCAN_ELEMENTS), (row, block, base) => {
          for (let c = Math.max(0, start - row * nCols); c < Math.min(nCols, end - row * nCols); c++) {
            const v = Number(block[base + c]);
            if (v !== 0) sample.push(v);
          }
        });
      }
      return Float32Array.from(sample);
    },
    eachBlock: (visit, maxValues = BLOCK_VALUES) => {
      const rowsPerBlock = rowsPer(maxValues);
      for (let r0 = 0; r0 < nRows; r0 += rowsPerBlock) visit(rowsAsCsr(r0, Math.min(nRows, r0 + rowsPerBlock)), r0);
    },
    read: () => rowsAsCsr(0, nRows),
  };
}
