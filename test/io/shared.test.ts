import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inspectDataset, readDataset } from '../../src/io/index.js';
import { hasShared, sharedData, summaryOfRead } from './fixtures.js';

/** Shapes and kinds stated in ../shared/data/README.md for every file a lab could upload. */
const expected: Record<string, { format: string; shape: [number, number]; nnz?: number; values: string; options?: { genome?: string } }> = {
  'formats/scanpy/10x_data/1.2.0/filtered_gene_bc_matrices_h5.h5': { format: '10x-h5-v2', shape: [12, 343], nnz: 12, values: 'counts' },
  'formats/scanpy/10x_data/1.2.0/multiple_genomes.h5': { format: '10x-h5-v2', shape: [12, 343], values: 'counts', options: { genome: 'another_genome' } },
  'formats/scanpy/10x_data/1.2.0/filtered_gene_bc_matrices/hg19_chr21': { format: '10x-mtx', shape: [12, 343], nnz: 12, values: 'counts' },
  'formats/scanpy/10x_data/3.0.0/filtered_feature_bc_matrix.h5': { format: '10x-h5-v3', shape: [1107, 507], nnz: 23866, values: 'counts' },
  'formats/scanpy/10x_data/3.0.0/filtered_feature_bc_matrix': { format: '10x-mtx', shape: [1107, 507], nnz: 23866, values: 'counts' },
  'formats/scanpy/10x_data/int-ids': { format: '10x-mtx', shape: [5, 6], values: 'counts' },
  'formats/scvi/pbmc_10k_protein_v3_filtered_feature_bc_matrix': { format: '10x-mtx', shape: [1024, 100], values: 'counts' },
  'formats/scvi/pbmc_10k_protein_v3_filtered_feature_bc_matrix.tar.gz': { format: '10x-mtx', shape: [1024, 100], values: 'counts' },
  'formats/seurat/pbmc_small_mtx': { format: '10x-mtx', shape: [80, 240], values: 'counts' },
  'formats/seurat/cr3.0': { format: '10x-mtx', shape: [5, 3], values: 'counts' },
  'pbmc68k_reduced/10x_pbmc68k_reduced.h5ad': { format: 'h5ad', shape: [700, 765], values: 'scaled' },
  'pbmc68k_reduced/pbmc68k_reduced_counts_csr.h5ad': { format: 'h5ad', shape: [700, 765], nnz: 174400, values: 'counts' },
  'pbmc_sorted/pbmc_facs_sorted_2140.h5ad': { format: 'h5ad', shape: [2140, 8863], nnz: 2495965, values: 'counts' },
  'cellbench/cellbench_2platforms.h5ad': { format: 'h5ad', shape: [499, 28258], values: 'counts' },
  'cellbench/sc_celseq2_denseX.h5ad': { format: 'h5ad', shape: [274, 28204], values: 'counts' },
  'pbmc3k/filtered_gene_bc_matrices/hg19': { format: '10x-mtx', shape: [2700, 32738], nnz: 2286884, values: 'counts' },
};

describe('readDataset over ../shared/data', { skip: !hasShared && '../shared/data is absent' }, () => {
  for (const [path, want] of Object.entries(expected)) {
    it(`${path}: read, and inspected without loading the matrix to the same summary`, async () => {
      const summary = summaryOfRead(await readDataset(join(sharedData, path), want.options));
      assert.equal(summary.format, want.format);
      assert.deepEqual([summary.n_obs, summary.n_vars], want.shape);
      if (want.nnz !== undefined) assert.equal(summary.nnz, want.nnz);
      assert.equal(summary.values, want.values);
      assert.deepEqual(await inspectDataset(join(sharedData, path), want.options), summary);
    });
  }

  it('pbmc68k_reduced raw/X is log-normalised', async () => {
    const result = await readDataset(join(sharedData, 'pbmc68k_reduced/10x_pbmc68k_reduced.h5ad'), { layer: 'raw' });
    assert.equal(result.values, 'lognorm');
    assert.equal(result.matrix, 'raw/X');
  });

  it('the LZF-compressed h5ad is refused with the filter named', async () => {
    await assert.rejects(readDataset(join(sharedData, 'formats/scvi/pbmc_10k_protein_v3.h5ad')), { code: 'unsupported_filter', message: /LZF/ });
  });
});
