import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCsr, selectColumns, submatrix } from '../../src/io/sparse.js';
import type { CsrMatrix, DenseMatrix } from '../../src/io/types.js';

/** Dense rows of a CSR matrix, for comparing. */
function rowsOf(m: CsrMatrix): number[][] {
  return Array.from({ length: m.nRows }, (_, r) => {
    const row = new Array<number>(m.nCols).fill(0);
    for (let k = m.indptr[r]!; k < m.indptr[r + 1]!; k++) row[m.indices[k]!] = m.data[k]!;
    return row;
  });
}

// 3 x 4: [[1 0 2 0], [0 0 0 3], [4 5 0 6]]
const csr: CsrMatrix = { nRows: 3, nCols: 4, indptr: Int32Array.from([0, 2, 3, 6]), indices: Int32Array.from([0, 2, 3, 0, 1, 3]), data: Float32Array.from([1, 2, 3, 4, 5, 6]) };

test('submatrix keeps the rows asked for, in their order, and maps columns (any order, -1 for zeros)', () => {
  assert.deepEqual(rowsOf(submatrix(csr, null, null)), [[1, 0, 2, 0], [0, 0, 0, 3], [4, 5, 0, 6]]);
  assert.deepEqual(rowsOf(submatrix(csr, Int32Array.from([2, 0]), Int32Array.from([0, 2]))), [[4, 0], [1, 2]]);
  const reordered = submatrix(csr, null, Int32Array.from([3, -1, 0]));
  assert.deepEqual(rowsOf(reordered), [[0, 0, 1], [3, 0, 0], [6, 0, 4]]);
  for (let r = 0; r < 3; r++) {
    const cols = Array.from(reordered.indices.subarray(reordered.indptr[r]!, reordered.indptr[r + 1]!));
    assert.deepEqual(cols, [...cols].sort((a, b) => a - b), `row ${r} keeps its columns sorted`);
  }
});

test('selectColumns keeps the storage: CSR stays CSR, dense stays dense', () => {
  const dense: DenseMatrix = { nRows: 2, nCols: 3, data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
  const picked = selectColumns(dense, Int32Array.from([2, -1, 0]));
  assert.ok(!isCsr(picked));
  assert.deepEqual(Array.from(picked.data), [3, 0, 1, 6, 0, 4]);
  const sparse = selectColumns(csr, Int32Array.from([1, 3]));
  assert.ok(isCsr(sparse));
  assert.deepEqual(rowsOf(sparse), [[0, 0], [0, 3], [5, 6]]);
});
