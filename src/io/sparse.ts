import { DatasetError } from './errors.js';
import { MAX_NNZ, type CsrMatrix, type Matrix } from './types.js';

/** Fails clearly when a matrix would exceed what the typed arrays (and this machine) can hold. */
export function assertFitsInMemory(nnz: number, what: string): void {
  if (nnz > MAX_NNZ) {
    throw new DatasetError(
      'too_large',
      `${what} has ${nnz} stored values, more than the ${MAX_NNZ} this service can hold in memory (8 bytes each); ` +
        'split the dataset (e.g. by sample) and submit the parts',
    );
  }
}

/**
 * Transposes compressed storage: a CSC matrix of shape (rows x cols) given by column pointers
 * becomes the CSR of the same matrix (rows sorted within each row by construction).
 */
export function transposeCompressed(
  nOuter: number,
  nInner: number,
  outerPtr: Int32Array,
  innerIndices: Int32Array,
  values: Float32Array,
): { indptr: Int32Array; indices: Int32Array; data: Float32Array } {
  const nnz = outerPtr[nOuter]!;
  const indptr = new Int32Array(nInner + 1);
  for (let k = 0; k < nnz; k++) indptr[innerIndices[k]! + 1]!++;
  for (let i = 0; i < nInner; i++) indptr[i + 1]! += indptr[i]!;
  const next = indptr.slice(0, nInner);
  const indices = new Int32Array(nnz);
  const data = new Float32Array(nnz);
  for (let o = 0; o < nOuter; o++) {
    for (let k = outerPtr[o]!; k < outerPtr[o + 1]!; k++) {
      const slot = next[innerIndices[k]!]!++;
      indices[slot] = o;
      data[slot] = values[k]!;
    }
  }
  return { indptr, indices, data };
}

/** Sorts each row's columns in place when a writer left them unsorted (rare; insertion sort per row). */
function sortRows(indptr: Int32Array, indices: Int32Array, data: Float32Array): void {
  for (let r = 0; r + 1 < indptr.length; r++) {
    const start = indptr[r]!;
    const end = indptr[r + 1]!;
    for (let k = start + 1; k < end; k++) {
      const col = indices[k]!;
      const val = data[k]!;
      let j = k - 1;
      while (j >= start && indices[j]! > col) {
        indices[j + 1] = indices[j]!;
        data[j + 1] = data[j]!;
        j--;
      }
      indices[j + 1] = col;
      data[j + 1] = val;
    }
  }
}

/**
 * Checks a CSR matrix read from a file: pointer monotonicity, column range, finite values,
 * no duplicate entries; sorts unsorted rows. `what` names the source in messages.
 */
export function validateCsr(matrix: CsrMatrix, what: string): CsrMatrix {
  const { nRows, nCols, indptr, indices, data } = matrix;
  if (indptr.length !== nRows + 1) {
    throw new DatasetError('inconsistent_shape', `${what}: indptr has ${indptr.length} entries for ${nRows} rows (expected ${nRows + 1})`);
  }
  const nnz = indptr[nRows]!;
  if (indptr[0] !== 0 || nnz !== indices.length || nnz !== data.length) {
    throw new DatasetError('inconsistent_shape', `${what}: indptr ends at ${nnz} but ${indices.length} indices and ${data.length} values are stored`);
  }
  let unsorted = false;
  for (let r = 0; r < nRows; r++) {
    const start = indptr[r]!;
    const end = indptr[r + 1]!;
    if (end < start) throw new DatasetError('inconsistent_shape', `${what}: indptr decreases at row ${r}`);
    for (let k = start; k < end; k++) {
      const col = indices[k]!;
      if (col < 0 || col >= nCols) {
        throw new DatasetError('inconsistent_shape', `${what}: column index ${col} in row ${r} is outside 0..${nCols - 1}`);
      }
      if (k > start && col <= indices[k - 1]!) unsorted = true;
    }
  }
  for (let k = 0; k < nnz; k++) {
    if (!Number.isFinite(data[k]!)) {
      throw new DatasetError('invalid_value', `${what}: stored value ${k} is ${data[k]}; the matrix must hold finite numbers (replace NaN/Inf before uploading)`);
    }
  }
  if (unsorted) {
    sortRows(indptr, indices, data);
    for (let r = 0; r < nRows; r++) {
      for (let k = indptr[r]! + 1; k < indptr[r + 1]!; k++) {
        if (indices[k] === indices[k - 1]) {
          throw new DatasetError('invalid_value', `${what}: row ${r} stores column ${indices[k]} twice`);
        }
      }
    }
  }
  return matrix;
}

/** Whether a matrix is stored as compressed sparse rows (else dense row-major). */
export function isCsr(matrix: Matrix): matrix is CsrMatrix {
  return 'indptr' in matrix;
}

/**
 * Rows `rows` (in the order given; every row when null) and columns `columns` (every column when null)
 * of a CSR matrix: column `columns[j]` becomes column j, and -1 gives an all-zero column (genes a
 * dataset lacks). Two passes over the kept rows; rows are re-sorted only when `columns` is not increasing.
 */
export function submatrix(matrix: CsrMatrix, rows: Int32Array | null, columns: Int32Array | null): CsrMatrix {
  const newIndex = new Int32Array(matrix.nCols).fill(-1);
  let increasing = true;
  if (columns) {
    let last = -1;
    columns.forEach((col, j) => {
      if (col < 0) return;
      newIndex[col] = j;
      if (col < last) increasing = false;
      last = col;
    });
  } else newIndex.forEach((_, j) => (newIndex[j] = j));
  const nRows = rows ? rows.length : matrix.nRows;
  const rowAt = rows ? (i: number) => rows[i]! : (i: number) => i;
  let nnz = 0;
  for (let i = 0; i < nRows; i++) {
    const r = rowAt(i);
    for (let k = matrix.indptr[r]!; k < matrix.indptr[r + 1]!; k++) if (newIndex[matrix.indices[k]!]! >= 0) nnz++;
  }
  const indptr = new Int32Array(nRows + 1);
  const indices = new Int32Array(nnz);
  const data = new Float32Array(nnz);
  let slot = 0;
  for (let i = 0; i < nRows; i++) {
    const r = rowAt(i);
    for (let k = matrix.indptr[r]!; k < matrix.indptr[r + 1]!; k++) {
      const col = newIndex[matrix.indices[k]!]!;
      if (col >= 0) {
        indices[slot] = col;
        data[slot++] = matrix.data[k]!;
      }
    }
    indptr[i + 1] = slot;
  }
  if (!increasing) sortRows(indptr, indices, data);
  return { nRows, nCols: columns ? columns.length : matrix.nCols, indptr, indices, data };
}

/** Columns `columns` of a dense or CSR matrix (the storage kept), with -1 for an all-zero column. */
export function selectColumns<M extends Matrix>(matrix: M, columns: Int32Array): M;
export function selectColumns(matrix: Matrix, columns: Int32Array): Matrix {
  if (isCsr(matrix)) return submatrix(matrix, null, columns);
  const { nRows, nCols } = matrix;
  const data = new Float32Array(nRows * columns.length);
  for (let r = 0; r < nRows; r++) {
    for (let j = 0; j < columns.length; j++) if (columns[j]! >= 0) data[r * columns.length + j] = matrix.data[r * nCols + columns[j]!]!;
  }
  return { nRows, nCols: columns.length, data };
}
