import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readDataset } from '../../src/io/index.js';
import type { CsrMatrix } from '../../src/io/types.js';
import { flaggedIndices, highlyVariableGenes, PreprocessError, preprocess, qcFilter } from '../../src/preprocess/index.js';
import { submatrix } from '../../src/io/sparse.js';
import { csrFromRows, fixtures, maxRelativeError, readCsv } from './helpers.js';

// 160 pbmc3k cells x 553 genes and Seurat 4.3.0's outputs on it (make-fixture.R)
const { data } = await readDataset(join(fixtures, 'pbmc3k_subset'));
const tutorial = { minCells: 3, minGenes: 121, maxGenes: 319, maxPctMito: 5, targetSum: 1e4 } as const;
const v3 = preprocess(data, { ...tutorial, flavor: 'seurat_v3', nTopGenes: 150 });
const counts = v3.data.layers!.get('counts')!;
const lognorm = v3.data.X;
const genes = v3.data.var.index;

test('seurat_v3 equals Seurat vst: every gene, variance.standardized and the selected set', () => {
  const reference = readCsv(join(fixtures, 'subset_seurat_vst_hvg.csv')).slice(1);
  assert.deepEqual(genes, reference.map((r) => r[3]));
  const hvg = v3.hvg;
  assert.ok(maxRelativeError(reference.map((r, g) => [hvg.means[g]!, Number(r[0])])) < 1e-12);
  assert.ok(maxRelativeError(reference.map((r, g) => [hvg.variances![g]!, Number(r[1])])) < 1e-12);
  assert.ok(maxRelativeError(reference.map((r, g) => [hvg.variances_norm![g]!, Number(r[2])])) < 1e-10);
  assert.deepEqual(
    genes.filter((_, g) => hvg.highly_variable[g]),
    reference.filter((r) => r[4] === 'TRUE').map((r) => r[3]),
  );
  const ranks = Array.from(hvg.highly_variable_rank!).filter((r) => !Number.isNaN(r)).sort((a, b) => a - b);
  assert.deepEqual(ranks, Array.from({ length: 150 }, (_, i) => i));
});

test('seurat flavour against Seurat mean.var.plot: same means and dispersions; selection differs only where the formulas do', () => {
  const hvg = highlyVariableGenes(lognorm, { flavor: 'seurat' });
  const reference = readCsv(join(fixtures, 'subset_seurat_mvp_hvg.csv')).slice(1);
  // ExpMean = log1p(mean(expm1 x)) and LogVMR = log(var / mean) are scanpy's formulas too
  assert.ok(maxRelativeError(reference.map((r, g) => [hvg.means[g]!, Number(r[0])])) < 1e-6);
  const finite = reference.flatMap((r, g): [number, number][] => (Number.isFinite(hvg.dispersions![g]!) ? [[hvg.dispersions![g]!, Number(r[1])]] : []));
  assert.ok(maxRelativeError(finite) < 1e-6);
  const ours = new Set(genes.filter((_, g) => hvg.highly_variable[g]));
  const seurat = new Set(reference.filter((r) => r[4] === 'TRUE').map((r) => r[3]!));
  assert.ok([...seurat].every((gene) => ours.has(gene)));
  // Seurat puts genes with no counts left (dispersion 0/0) into the lowest bin as 0, scanpy leaves them
  // out: the lowest bin's mean and sd shift, and GSAP crosses the 0.5 cutoff
  assert.deepEqual([...ours].filter((gene) => !seurat.has(gene)), ['GSAP']);
});

test('cell_ranger: percentile bins, median/MAD z-scores, n_top_genes', () => {
  const hvg = highlyVariableGenes(lognorm, { flavor: 'cell_ranger', nTopGenes: 50 });
  assert.equal(hvg.highly_variable.reduce((n, f) => n + f, 0), 50);
  // dispersions are var / mean of the values as given (no expm1, no log)
  const g = genes.indexOf('LYZ');
  let sum = 0;
  let squares = 0;
  for (let r = 0; r < lognorm.nRows; r++) {
    for (let k = lognorm.indptr[r]!; k < lognorm.indptr[r + 1]!; k++) {
      if (lognorm.indices[k] === g) {
        sum += lognorm.data[k]!;
        squares += lognorm.data[k]! ** 2;
      }
    }
  }
  const mean = sum / lognorm.nRows;
  const variance = (squares - lognorm.nRows * mean * mean) / (lognorm.nRows - 1);
  assert.ok(Math.abs(hvg.dispersions![g]! - variance / mean) < 1e-9);
  const selected = Array.from(hvg.dispersions_norm!).filter((_, i) => hvg.highly_variable[i]);
  const others = Array.from(hvg.dispersions_norm!).filter((_, i) => !hvg.highly_variable[i]);
  assert.ok(Math.min(...selected) >= Math.max(...others.filter((d) => !Number.isNaN(d))));
});

/** The same cells twice, as two batches. */
function twice(matrix: CsrMatrix): { matrix: CsrMatrix; batch: Int32Array } {
  const nnz = matrix.data.length;
  const indptr = new Int32Array(2 * matrix.nRows + 1);
  for (let r = 0; r <= matrix.nRows; r++) {
    indptr[r] = matrix.indptr[r]!;
    indptr[matrix.nRows + r] = nnz + matrix.indptr[r]!;
  }
  const indices = new Int32Array(2 * nnz);
  indices.set(matrix.indices);
  indices.set(matrix.indices, nnz);
  const values = new Float32Array(2 * nnz);
  values.set(matrix.data);
  values.set(matrix.data, nnz);
  const batch = Int32Array.from({ length: 2 * matrix.nRows }, (_, r) => Number(r >= matrix.nRows));
  return { matrix: { nRows: 2 * matrix.nRows, nCols: matrix.nCols, indptr, indices, data: values }, batch };
}

test('batch_key: identical batches give the single-batch selection, counted in both batches', () => {
  const doubled = twice(counts);
  for (const flavor of ['seurat_v3', 'seurat_v3_paper'] as const) {
    const batched = highlyVariableGenes(doubled.matrix, { flavor, nTopGenes: 150, batch: doubled.batch });
    assert.deepEqual(batched.highly_variable, v3.hvg.highly_variable);
    assert.deepEqual(Array.from(batched.highly_variable_rank!), Array.from(v3.hvg.highly_variable_rank!));
    assert.ok(maxRelativeError(Array.from(batched.variances_norm!, (v, g) => [v, v3.hvg.variances_norm![g]!])) < 1e-9);
    assert.deepEqual(Array.from(batched.highly_variable_nbatches!), Array.from(v3.hvg.highly_variable, (f) => 2 * f));
  }
  // the dispersion flavours bin each batch's detected genes only (scanpy filters genes per batch)
  const detected = flaggedIndices(qcFilter(lognorm, new Uint8Array(lognorm.nCols), {}).genes.nCellsByCounts);
  assert.ok(detected.length < lognorm.nCols, 'the fixture has genes without counts in the kept cells');
  const single = highlyVariableGenes(submatrix(lognorm, Int32Array.from({ length: lognorm.nRows }, (_, r) => r), detected), { flavor: 'seurat' });
  const logDoubled = twice(lognorm);
  const batched = highlyVariableGenes(logDoubled.matrix, { flavor: 'seurat', batch: logDoubled.batch });
  assert.deepEqual(Array.from(detected, (g) => batched.highly_variable[g]), Array.from(single.highly_variable));
  assert.deepEqual(Array.from(detected, (g) => batched.highly_variable_intersection![g]), Array.from(single.highly_variable));
  assert.ok(maxRelativeError(Array.from(detected, (g, i) => [batched.dispersions_norm![g]!, single.dispersions_norm![i]!])) < 1e-12);
  assert.equal(batched.highly_variable.reduce((n, f) => n + f, 0), single.highly_variable.reduce((n, f) => n + f, 0));
});

test('batch_key: seurat_v3 ranks by median rank, seurat_v3_paper by number of batches first', () => {
  // gene 0 is very variable in batch 0 only; genes 1 and 2 are moderately variable in both
  const rows: number[][] = [];
  for (let r = 0; r < 40; r++) {
    const inFirst = r < 20;
    rows.push([inFirst && r % 10 === 0 ? 40 : 1, r % 4 === 0 ? 6 : 1, r % 5 === 0 ? 5 : 1, 1 + (r % 2), 2 + (r % 3 === 0 ? 1 : 0), 3]);
  }
  const matrix = csrFromRows(rows);
  const batch = Int32Array.from({ length: 40 }, (_, r) => Number(r >= 20));
  const v3 = highlyVariableGenes(matrix, { flavor: 'seurat_v3', nTopGenes: 1, batch, span: 1 });
  const paper = highlyVariableGenes(matrix, { flavor: 'seurat_v3_paper', nTopGenes: 1, batch, span: 1 });
  const chosen = (h: typeof v3) => Array.from(h.highly_variable).indexOf(1);
  assert.deepEqual(Array.from(v3.highly_variable_nbatches!).slice(0, 3), Array.from(paper.highly_variable_nbatches!).slice(0, 3));
  const nbatches = v3.highly_variable_nbatches!;
  assert.ok(nbatches[chosen(paper)]! >= Math.max(...nbatches));
  const rank = v3.highly_variable_rank!;
  assert.ok(Array.from(rank).every((r) => Number.isNaN(r) || r >= rank[chosen(v3)]!));
});

test('inputs that do not fit the flavour are refused with what they look like and what to pass', () => {
  assert.throws(
    () => highlyVariableGenes(lognorm, { flavor: 'seurat_v3' }),
    (error: unknown) =>
      error instanceof PreprocessError && /log-normalised values/.test(error.message) && /pass the counts/.test(error.message),
  );
  assert.throws(() => highlyVariableGenes(counts, { flavor: 'seurat' }), /raw counts .*run normalize_total and log1p first/);
  assert.throws(() => highlyVariableGenes(counts, { flavor: 'seurat_v3', batch: new Int32Array(3) }), /batch has 3 entries/);
  assert.throws(() => highlyVariableGenes(counts, { flavor: 'nope' as 'seurat' }), /unknown flavor "nope"/);
});
