import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeH5ad, type AnnDataToWrite } from '../../src/io/h5ad-write.js';
import { inMemoryBlocks } from '../../src/io/row-blocks.js';
import { readDataset } from '../../src/io/index.js';
import type { AnnData } from '../../src/io/types.js';
import { fixture, tempDir } from './fixtures.js';

const PYTHON = '/usr/bin/python3';
const hasAnndata = spawnSync(PYTHON, ['-c', 'import anndata'], { stdio: 'ignore' }).status === 0;

/** pbmc68k's counts annotated as a result is; its counts layer given by blocks of rows, as the pipeline writes a large matrix. */
async function annotated(): Promise<AnnDataToWrite & { X: AnnData['X'] }> {
  const { data } = await readDataset(fixture('pbmc68k-reduced-counts.h5ad'));
  const n = data.X.nRows;
  return {
    ...data,
    obs: {
      index: data.obs.index,
      columns: new Map([
        ...data.obs.columns,
        ['cgmvae_cluster', { kind: 'categorical', categories: ['0', '1', '2'], codes: Int32Array.from({ length: n }, (_, i) => i % 3), ordered: false }],
        ['note', { kind: 'string', values: data.obs.index.map((name) => `cell ${name}`) }],
        ['kept', { kind: 'boolean', values: Uint8Array.from({ length: n }, (_, i) => i % 2) }],
      ]),
    },
    layers: new Map([['counts', { nRows: n, nCols: data.X.nCols, eachBlock: (visit) => inMemoryBlocks(data.X).eachBlock(visit, 5000) }]]),
    obsm: new Map([['X_umap', { nRows: n, nCols: 2, data: Float32Array.from({ length: n * 2 }, (_, i) => i / 7) }]]),
    uns: { default_embedding: 'X_umap', cgmvae_cluster_colors: ['#1f77b4', '#ff7f0e', '#279e68'], params: { seed: 0, hidden: new Int32Array([64, 32]) } },
  };
}

describe('writeH5ad', () => {
  it('writes what the reader reads back: values (whole or by blocks), names, categorical columns', async () => {
    const dir = await tempDir();
    const data = await annotated();
    await writeH5ad(join(dir, 'out.h5ad'), data);
    const back = await readDataset(join(dir, 'out.h5ad'));
    assert.deepEqual(back.data.X, data.X);
    assert.deepEqual((await readDataset(join(dir, 'out.h5ad'), { layer: 'counts' })).data.X, data.X, 'a layer written by blocks reads back whole');
    assert.deepEqual(back.data.obs.index, data.obs.index);
    assert.deepEqual(back.data.var.index, data.var.index);
    assert.deepEqual(back.data.obs.columns.get('cgmvae_cluster'), data.obs.columns.get('cgmvae_cluster'));
    assert.deepEqual(back.data.obs.columns.get('bulk_labels'), data.obs.columns.get('bulk_labels'));
    assert.deepEqual(await readdir(dir), ['out.h5ad']);
  });

  it('loads in anndata (python3-anndata) with categoricals, obsm, layers and uns', { skip: !hasAnndata && 'python3 anndata is not installed' }, async () => {
    const dir = await tempDir();
    await writeH5ad(join(dir, 'out.h5ad'), await annotated());
    const script = `
import json, sys, anndata, numpy as np
a = anndata.read_h5ad(sys.argv[1])
print(json.dumps({
  "shape": list(a.shape), "x_dtype": str(a.X.dtype), "x_sum": float(a.X.sum()), "counts_sum": float(a.layers["counts"].sum()),
  "obs": {c: str(a.obs[c].dtype) for c in a.obs.columns}, "clusters": a.obs["cgmvae_cluster"].value_counts().sort_index().tolist(),
  "first_cell": a.obs_names[0], "first_gene": a.var_names[0], "umap": list(a.obsm["X_umap"].shape), "umap_finite": bool(np.isfinite(a.obsm["X_umap"]).all()),
  "umap_1_0": float(a.obsm["X_umap"][1, 0]), "uns": sorted(a.uns.keys()), "colors": list(a.uns["cgmvae_cluster_colors"]), "seed": float(a.uns["params"]["seed"]),
}))`;
    const out = JSON.parse(execFileSync(PYTHON, ['-c', script, join(dir, 'out.h5ad')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    const source = await readDataset(fixture('pbmc68k-reduced-counts.h5ad'));
    const sum = source.data.X.data.reduce((s, v) => s + v, 0);
    assert.deepEqual(out.shape, [700, 765]);
    assert.equal(out.x_dtype, 'float32');
    assert.ok(Math.abs(out.x_sum - sum) / sum < 1e-6);
    assert.ok(Math.abs(out.counts_sum - sum) / sum < 1e-6);
    assert.equal(out.obs.cgmvae_cluster, 'category');
    assert.equal(out.obs.bulk_labels, 'category');
    assert.equal(out.obs.kept, 'category');
    assert.equal(out.obs.note, 'object');
    assert.equal(out.obs.n_counts, 'float64');
    assert.deepEqual(out.clusters, [234, 233, 233]);
    assert.equal(out.first_cell, source.data.obs.index[0]);
    assert.equal(out.first_gene, source.data.var.index[0]);
    assert.deepEqual(out.umap, [700, 2]);
    assert.ok(out.umap_finite);
    assert.ok(Math.abs(out.umap_1_0 - 2 / 7) < 1e-6);
    assert.deepEqual(out.uns, ['cgmvae_cluster_colors', 'default_embedding', 'params']);
    assert.deepEqual(out.colors, ['#1f77b4', '#ff7f0e', '#279e68']);
    assert.equal(out.seed, 0);
  });
});
