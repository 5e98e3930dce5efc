import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cellQcMetrics,
  flaggedIndices,
  geneSetMask,
  log1p,
  normalizeTotal,
  PreprocessError,
  qcFilter,
} from '../../src/preprocess/index.js';
import { submatrix } from '../../src/io/sparse.js';
import { csrFromRows, valueAt } from './helpers.js';

const genes = ['MT-CO1', 'CD3E', 'LYZ', 'mt-Nd1', 'RARE'];
// 4 cells x 5 genes of counts
const counts = csrFromRows([
  [2, 3, 0, 0, 0],
  [0, 1, 5, 4, 0],
  [1, 0, 0, 0, 1],
  [0, 6, 2, 0, 0],
]);

test('QC metrics per cell and per gene, with MT-/mt- as the default gene set', () => {
  const qc = cellQcMetrics(counts, geneSetMask(genes));
  assert.deepEqual(Array.from(qc.totalCounts), [5, 10, 2, 8]);
  assert.deepEqual(Array.from(qc.nGenesByCounts), [2, 3, 2, 2]);
  assert.deepEqual(Array.from(qc.pctCountsInSet), [40, 40, 50, 0]);
  const all = qcFilter(counts, geneSetMask(genes), {});
  assert.deepEqual(Array.from(all.genes.nCellsByCounts), [2, 3, 2, 1, 1]);
  assert.deepEqual(Array.from(all.genes.totalCounts), [3, 10, 7, 4, 1]);
  assert.deepEqual(Array.from(all.keepCells), [1, 1, 1, 1], 'filters are off by default');
});

test('filters: genes first on all cells, then cell metrics on the kept genes', () => {
  const qc = qcFilter(counts, geneSetMask(genes), { minCells: 2, minGenes: 2, maxPctMito: 45 });
  assert.deepEqual(Array.from(qc.keepGenes), [1, 1, 1, 0, 0]);
  // over the kept genes cell 2 has 1 gene left and cell 1 loses its mt-Nd1 counts
  assert.deepEqual(Array.from(qc.cells.nGenesByCounts), [2, 2, 1, 2]);
  assert.deepEqual(Array.from(qc.keepCells), [1, 1, 0, 1]);
  const sub = submatrix(counts, flaggedIndices(qc.keepCells), flaggedIndices(qc.keepGenes));
  assert.equal(sub.nRows, 3);
  assert.equal(sub.nCols, 3);
  assert.equal(valueAt(sub, 2, 1), 6);
  assert.equal(valueAt(sub, 1, 2), 5);
  assert.throws(() => qcFilter(counts, geneSetMask(genes), { minGenes: 5, maxGenes: 2 }), PreprocessError);
  assert.throws(() => qcFilter(counts, geneSetMask(genes), { minCells: -1 }), /non-negative/);
});

test('cell metrics over the kept genes come out the same from one pass (counts) and from two (other values)', () => {
  const fractional = { ...counts, data: counts.data.map((v) => v * 1.1) };
  const negative = { ...counts, data: counts.data.map((v, k) => (k % 2 ? -v : v)) };
  for (const [name, matrix] of [['counts', counts], ['fractional', fractional], ['negative', negative]] as const) {
    for (const minCells of [0, 2, 3]) {
      const qc = qcFilter(matrix, geneSetMask(genes), { minCells });
      assert.deepEqual(qc.cells, cellQcMetrics(matrix, geneSetMask(genes), qc.keepGenes), `${name}, min_cells ${minCells}`);
    }
  }
});

test('normalize_total to a target, to the median total, and excluding highly expressed genes', () => {
  const fixed = normalizeTotal(counts, { targetSum: 100 });
  assert.ok(Math.abs(valueAt(fixed.matrix, 1, 2) - 50) < 1e-5);
  assert.equal(fixed.record.targetSumFrom, 'given');
  assert.equal(fixed.matrix.indices, counts.indices, 'the structure is shared, not copied');
  const byMedian = normalizeTotal(counts, { targetSum: 'median' });
  assert.equal(byMedian.record.targetSum, 6.5); // median of 5, 10, 2, 8
  const excluded = normalizeTotal(counts, { targetSum: 10, excludeHighlyExpressed: true, maxFraction: 0.7 });
  // CD3E is 6/8 > 0.7 of cell 3's total: it leaves every cell's total
  assert.deepEqual(excluded.record.excludedGenes, [1]);
  assert.ok(Math.abs(valueAt(excluded.matrix, 0, 0) - 10) < 1e-5);
  assert.ok(Math.abs(valueAt(excluded.matrix, 3, 2) - 10) < 1e-5);
  assert.equal(counts.data[0], 2, 'the input is untouched');
});

test('log1p, natural or in another base, and its refusal of logged or scaled data', () => {
  const normalized = normalizeTotal(counts, { targetSum: 1e4 }).matrix;
  const logged = log1p(normalized);
  assert.ok(Math.abs(valueAt(logged.matrix, 0, 0) - Math.log1p(4000)) < 1e-5);
  assert.equal(logged.record.base, null);
  const base2 = log1p(normalized, { base: 2 });
  assert.ok(Math.abs(valueAt(base2.matrix, 0, 0) - Math.log2(4001)) < 1e-5);
  assert.throws(
    () => log1p(logged.matrix),
    (error: unknown) =>
      error instanceof PreprocessError && /log-normalised values/.test(error.message) && /pass the counts or the normalize_total output/.test(error.message),
  );
  assert.throws(() => log1p(csrFromRows([[-1.2, 0.5]])), /scaled values/);
  assert.throws(() => normalizeTotal(logged.matrix, { targetSum: 1e4 }), /normalize_total: the matrix holds log-normalised values/);
  const owned = normalizeTotal(counts, { targetSum: 1e4 }).matrix;
  const inPlace = log1p(owned, { inPlace: true, valuesKind: 'other' });
  assert.equal(inPlace.matrix.data, owned.data);
});
