import { DatasetError } from './errors.js';
import { MAX_NNZ, type CsrMatrix } from './types.js';

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

/** Column `columns[j]` of the input becomes column j; -1 gives an all-zero column (genes a dataset lacks). */
export function selectColumns(matrix: CsrMatrix, columns: Int32Array): CsrMatrix {
  const newIndex = new Int32Array(matrix.nCols).fill(-1);
  let increasing = true;
  let last = -1;
  columns.forEach((col, j) => {
    if (col < 0) return;
    newIndex[col] = j;
    if (col < last) increasing = false;
    last = col;
  });
  const indptr = new Int32Array(matrix.nRows + 1);
  let nnz = 0;
  for (let k = 0; k < matrix.indices.length; k++) if (newIndex[matrix.indices[k]!]! >= 0) nnz++;
  const indices = new Int32Array(nnz);
  const data = new Float32Array(nnz);
  let slot = 0;
  for (let r = 0; r < matrix.nRows; r++) {
    for (let k = matrix.indptr[r]!; k < matrix.indptr[r + 1]!; k++) {
      const col = newIndex[matrix.indices[k]!]!;
      if (col >= 0) {
        indices[slot] = col;
        data[slot++] = matrix.data[k]!;
      }
    }
    indptr[r + 1] = slot;
  }
  if (!increasing) sortRows(indptr, indices, data);
  return { nRows: matrix.nRows, nCols: columns.length, indptr, indices, data };
}
