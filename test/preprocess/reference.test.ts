/**
 * The issue's evidence against Seurat 4.3.0's own outputs in ../shared/reference (skipped without ../shared).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readDataset } from '../../src/io/index.js';
import { highlyVariableGenes, preprocess, type HvgColumns } from '../../src/preprocess/index.js';
import { maxRelativeError, readCsv, shared, sharedMissing, valueAt } from './helpers.js';

const reference = (name: string) => readCsv(join(shared, 'reference', name)).slice(1);

/** Genes selected by both, and the largest relative error of variances_norm over our selected genes. */
function compareVst(genes: readonly string[], hvg: HvgColumns, rows: string[][]) {
  assert.deepEqual(genes, rows.map((r) => r[3]), 'same genes in the same order');
  const seurat = new Set(rows.filter((r) => r[4] === 'TRUE').map((r) => r[3]!));
  const selected = genes.flatMap((gene, g) => (hvg.highly_variable[g] ? [g] : []));
  return {
    shared: selected.filter((g) => seurat.has(genes[g]!)).length,
    maxRelativeError: maxRelativeError(selected.map((g) => [hvg.variances_norm![g]!, Number(rows[g]![2])])),
  };
}

test('pbmc3k with the Seurat tutorial: cells, log-normalised values, vst and mean.var.plot genes', { skip: sharedMissing }, async () => {
  const { data } = await readDataset(join(shared, 'data', 'pbmc3k', 'filtered_gene_bc_matrices', 'hg19'));
  // genes in >= 3 cells; cells with 200 < genes < 2500 and mitochondrial share < 5 %
  const result = preprocess(data, { minCells: 3, minGenes: 201, maxGenes: 2499, maxPctMito: 5, targetSum: 1e4, flavor: 'seurat_v3', nTopGenes: 2000 });
  assert.deepEqual(result.data.obs.index, reference('pbmc3k_seurat_qc_cells.csv').map((r) => r[0]));
  assert.equal(result.data.var.index.length, 13714);

  const sample = readCsv(join(shared, 'reference', 'pbmc3k_seurat_lognorm_sample.csv'));
  const cellOf = new Map(result.data.obs.index.map((barcode, r) => [barcode, r]));
  const geneOf = new Map(result.data.var.index.map((gene, g) => [gene, g]));
  const barcodes = sample[0]!.slice(1);
  const lognorm = sample.slice(1).flatMap((row) => barcodes.map((barcode, i): [number, number] => [valueAt(result.data.X, cellOf.get(barcode)!, geneOf.get(row[0]!)!), Number(row[i + 1])]));
  assert.ok(maxRelativeError(lognorm) < 1e-5);

  const vst = compareVst(result.data.var.index, result.hvg, reference('pbmc3k_seurat_vst_hvg.csv'));
  assert.equal(vst.shared, 2000);
  assert.ok(vst.maxRelativeError < 1e-10, `variances_norm relative error ${vst.maxRelativeError}`);

  const mvp = highlyVariableGenes(result.data.X, { flavor: 'seurat' });
  const seuratMvp = reference('pbmc3k_seurat_mvp_hvg.csv').filter((r) => r[4] === 'TRUE').map((r) => r[3]);
  assert.deepEqual(result.data.var.index.filter((_, g) => mvp.highly_variable[g]), seuratMvp);
});

test('pbmc_sorted: seurat_v3 with 2000 genes is Seurat vst', { skip: sharedMissing }, async () => {
  const { data } = await readDataset(join(shared, 'data', 'pbmc_sorted', 'pbmc_facs_sorted_2140.h5ad'));
  const hvg = highlyVariableGenes(data.X, { flavor: 'seurat_v3', nTopGenes: 2000 });
  const vst = compareVst(data.var.index, hvg, reference('pbmc_sorted_seurat_vst_hvg.csv'));
  assert.equal(vst.shared, 2000);
  assert.ok(vst.maxRelativeError < 1e-10, `variances_norm relative error ${vst.maxRelativeError}`);
});
