import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDataset, withDatasetBlocks } from '../../src/io/index.js';
import type { AnnData } from '../../src/io/types.js';
import { writePreprocessTables } from '../../src/cli/preprocess.js';
import { PreprocessError, preprocess, type PreprocessOptions } from '../../src/preprocess/index.js';
import { fixtures, maxRelativeError, readCsv, valueAt } from './helpers.js';

const { data } = await readDataset(join(fixtures, 'pbmc3k_subset'));
// Seurat's tutorial thresholds scaled to the fixture's 553 genes (make-fixture.R): nFeature > 120 & < 320 & percent.mt < 5
const tutorial: PreprocessOptions = { minCells: 3, minGenes: 121, maxGenes: 319, maxPctMito: 5, targetSum: 1e4, flavor: 'seurat_v3' };

test('the preprocess tables: qc_cells.csv and hvg.csv; kept cells and their metrics are Seurat\'s', async () => {
  const out = await mkdtemp(join(tmpdir(), 'preprocess-'));
  try {
    const params = { min_cells: 3, min_genes: 121, max_genes: 319, max_pct_mito: 5, n_top_genes: 150 };
    const result = await withDatasetBlocks(join(fixtures, 'pbmc3k_subset'), {}, (dataset) => writePreprocessTables(dataset, out, params));
    assert.deepEqual(result.summary, {
      cells: { input: 160, kept: 113 },
      genes: { input: 553, kept: 456 },
      targetSum: 1e4,
      logBase: null,
      flavor: 'seurat_v3',
      highlyVariable: 150,
    });
    const qcRows = (await readFile(join(out, 'qc_cells.csv'), 'utf8')).trim().split('\n').map((l) => l.split(','));
    assert.deepEqual(qcRows[0], ['barcode', 'total_counts', 'n_genes_by_counts', 'pct_counts_mt', 'kept']);
    assert.equal(qcRows.length, 1 + 160);
    const kept = new Map(qcRows.slice(1).filter((r) => r[4] === 'true').map((r) => [r[0]!, r.slice(1, 4).map(Number)]));
    const seurat = readCsv(join(fixtures, 'subset_seurat_qc_cells.csv')).slice(1);
    assert.deepEqual([...kept.keys()], seurat.map((r) => r[0]));
    for (const [barcode, nCount, nFeature, percentMt] of seurat) {
      const [total, nGenes, pct] = kept.get(barcode!)!;
      assert.equal(total, Number(nCount));
      assert.equal(nGenes, Number(nFeature));
      assert.ok(Math.abs(pct! - Number(percentMt)) < 1e-9);
    }
    const hvgRows = (await readFile(join(out, 'hvg.csv'), 'utf8')).trim().split('\n').map((l) => l.split(','));
    assert.deepEqual(hvgRows[0], ['gene', 'highly_variable', 'highly_variable_rank', 'means', 'variances', 'variances_norm']);
    assert.equal(hvgRows.length, 1 + 456);
    assert.equal(hvgRows.filter((r) => r[1] === 'true').length, 150);
    assert.ok(hvgRows.slice(1).every((r) => (r[1] === 'true') === (r[2] !== '')), 'rank is empty (NaN) outside the selection');
    assert.deepEqual((await readdir(out)).sort(), ['hvg.csv', 'qc_cells.csv'], 'the block cache is gone');
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('log-normalised values equal Seurat NormalizeData (LogNormalize, 1e4) within 1e-6 relative', () => {
  const result = preprocess(data, tutorial);
  const sample = readCsv(join(fixtures, 'subset_seurat_lognorm_sample.csv'));
  const cellOf = new Map(result.data.obs.index.map((barcode, r) => [barcode, r]));
  const geneOf = new Map(result.data.var.index.map((gene, g) => [gene, g]));
  const barcodes = sample[0]!.slice(1);
  const pairs = sample.slice(1).flatMap((row) => barcodes.map((barcode, i): [number, number] => [valueAt(result.data.X, cellOf.get(barcode)!, geneOf.get(row[0]!)!), Number(row[i + 1])]));
  assert.equal(pairs.length, 25 * 12);
  assert.ok(pairs.some(([, v]) => v > 0));
  assert.ok(maxRelativeError(pairs) < 1e-6);
  assert.deepEqual(Object.keys(result.data.uns ?? {}), ['normalize_total', 'log1p', 'hvg']);
  assert.deepEqual([...result.data.obs.columns.keys()], ['total_counts', 'n_genes_by_counts', 'pct_counts_mt']);
});

test('batch_key takes an obs column; a missing column or a non-count matrix is refused clearly', () => {
  const withBatch: AnnData = {
    ...data,
    obs: { index: data.obs.index, columns: new Map([['sample', { kind: 'string', values: data.obs.index.map((_, r) => (r % 2 ? 'b' : 'a')) }]]) },
  };
  const result = preprocess(withBatch, { ...tutorial, nTopGenes: 100, batchKey: 'sample' });
  assert.equal(result.summary.batches, 2);
  assert.ok(result.hvg.highly_variable_nbatches);
  assert.throws(() => preprocess(withBatch, { ...tutorial, batchKey: 'donor' }), /batch_key "donor" is not a column of the data; it has sample/);
  const logged = preprocess(data, tutorial).data;
  assert.throws(
    () => preprocess(logged, tutorial),
    (error: unknown) => error instanceof PreprocessError && /needs raw counts, but the matrix holds log-normalised values/.test(error.message),
  );
  assert.throws(() => preprocess(data, { ...tutorial, minGenes: 10_000, maxGenes: undefined }), /keep 0 of 160 cells/);
});
