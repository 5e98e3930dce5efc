import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { decodeEmbedding } from '../../src/io/embedding-file.js';
import { readExpressionIndex, readGeneValues, type RangeReader } from '../../src/io/expression-file.js';
import { readDataset } from '../../src/io/index.js';
import { ParamsError, PipelineInputError, runPipeline, type PipelineManifest, type PipelineProgress } from '../../src/pipeline/index.js';
import { repoRoot, tempDir } from '../io/fixtures.js';

const CELLBENCH = join(repoRoot, 'data', 'cellbench_2platforms.h5ad');
/** Small enough to run in seconds: the test checks the plumbing, bench/pipeline.ts the quality. */
const QUICK = { condition_keys: ['platform'], n_clusters: 3, epochs: 3, n_top_genes: 300, hidden: [32], latent_dim: 4, w_dim: 2, markers_n: 5, n_neighbors: 10 };
const PYTHON = '/usr/bin/python3';
const hasAnndata = spawnSync(PYTHON, ['-c', 'import anndata'], { stdio: 'ignore' }).status === 0;

function parseCsv(text: string): string[][] {
  return text.trim().split('\n').map((line) => line.split(','));
}

describe('runPipeline', () => {
  let outDir: string;
  let manifest: PipelineManifest;
  const events: PipelineProgress[] = [];

  before(async () => {
    outDir = join(await tempDir(), 'out');
    manifest = await runPipeline({ inputPath: CELLBENCH, outDir, params: QUICK }, { onProgress: (e) => events.push(e) });
  });

  it('writes every output and lists it in the manifest', async () => {
    const files = (await readdir(outDir)).sort();
    assert.deepEqual(files, [...manifest.outputs].sort());
    for (const name of ['result.h5ad', 'cells.csv', 'markers.csv', 'latent.csv', 'training.csv', 'umap.png', 'loss.png', 'umap_platform.png', 'manifest.json']) assert.ok(files.includes(name), name);
    assert.ok(!files.some((f) => f.includes('.partial')));
    assert.deepEqual(await readdir(dirname(outDir)), ['out'], 'the cache of the kept cells beside the results is gone');
    assert.deepEqual(JSON.parse(await readFile(join(outDir, 'manifest.json'), 'utf8')), manifest);
  });

  it('records what it did in the manifest', () => {
    assert.equal(manifest.input.format, 'h5ad');
    assert.match(manifest.input.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(manifest.cells, { input: 499, kept: 499 });
    assert.equal(manifest.genes.highly_variable, 300);
    assert.equal(manifest.params.condition_keys[0], 'platform');
    assert.equal(manifest.params.min_dist, 0.5);
    assert.equal(manifest.training.epochs, 3);
    assert.ok(manifest.clusters.count >= 1 && manifest.clusters.count <= 3);
    assert.equal(manifest.clusters.sizes.reduce((a, b) => a + b, 0), 499);
    assert.ok(['wasm', 'cpu', 'webgpu', 'tensorflow'].includes(manifest.backend));
    for (const stage of ['read', 'qc', 'fit', 'latents', 'integration', 'umap', 'markers', 'write'] as const) assert.ok((manifest.stage_seconds[stage] ?? -1) >= 0, stage);
    // With a condition, the integration measures of the latent space: iLISI in [1, categories], scaled to [0, 1].
    const platform = manifest.integration!.conditions['platform']!;
    assert.equal(platform.categories, 2);
    assert.ok(platform.ilisi >= 1 && platform.ilisi <= 2, `iLISI ${platform.ilisi}`);
    assert.ok(Math.abs(platform.ilisi_scaled - (platform.ilisi - 1)) < 1e-12);
    assert.ok(platform.clusters_nmi >= 0 && platform.clusters_nmi <= 1);
    assert.equal(manifest.integration!.label, undefined);
    assert.equal(manifest.integration!.cells_scored, 499);
    assert.equal(manifest.params.center_by_condition, true);
    assert.ok(manifest.peak_rss_mb > 0);
  });

  it('reports progress through every stage, with epochs and a rising overall fraction', () => {
    const stages = [...new Set(events.map((e) => e.stage))];
    assert.deepEqual(stages, ['read', 'qc', 'hvg', 'fit', 'latents', 'integration', 'umap', 'markers', 'write']);
    assert.ok(events.some((e) => e.stage === 'fit' && e.epoch === 3 && Number.isFinite(e.loss)));
    for (let i = 1; i < events.length; i++) assert.ok(events[i]!.overall >= events[i - 1]!.overall - 1e-12);
    assert.equal(events.at(-1)!.overall, 1);
  });

  it('writes the annotated cell table', async () => {
    const rows = parseCsv(await readFile(join(outDir, 'cells.csv'), 'utf8'));
    assert.deepEqual(rows[0], ['barcode', 'cluster', 'cluster_probability', 'umap_1', 'umap_2', 'platform', 'total_counts', 'n_genes_by_counts', 'pct_counts_mt']);
    assert.equal(rows.length, 500);
    const { data } = await readDataset(CELLBENCH);
    assert.deepEqual(rows.slice(1).map((r) => r[0]), data.obs.index);
    for (const row of rows.slice(1)) {
      assert.ok(manifest.clusters.names.includes(row[1]!));
      const p = Number(row[2]);
      assert.ok(p > 0 && p <= 1);
      assert.ok(Number.isFinite(Number(row[3])) && Number.isFinite(Number(row[4])));
      assert.ok(['CEL-seq2', 'Drop-seq'].includes(row[5]!));
    }
    const latent = parseCsv(await readFile(join(outDir, 'latent.csv'), 'utf8'));
    assert.deepEqual(latent[0], ['barcode', 'z_1', 'z_2', 'z_3', 'z_4']);
    const training = parseCsv(await readFile(join(outDir, 'training.csv'), 'utf8'));
    assert.equal(training.length, 4);
    assert.equal(training[0]![0], 'epoch');
    const markers = parseCsv(await readFile(join(outDir, 'markers.csv'), 'utf8'));
    assert.equal(markers.length - 1, manifest.clusters.count * 5);
  });

  it('writes what the web page reads: embedding.bin agrees with cells.csv, expression.bin with result.h5ad', async () => {
    const rows = parseCsv(await readFile(join(outDir, 'cells.csv'), 'utf8'));
    const header = rows[0]!;
    const table = decodeEmbedding(new Uint8Array(await readFile(join(outDir, 'embedding.bin'))).buffer);
    assert.equal(table.nCells, 499);
    assert.deepEqual(
      table.columns.map((c) => [c.name, c.role, c.kind]),
      [['cluster', 'cluster', 'categorical'], ['platform', 'condition', 'categorical'], ['cluster_probability', 'score', 'numeric'], ['total_counts', 'qc', 'numeric'], ['n_genes_by_counts', 'qc', 'numeric'], ['pct_counts_mt', 'qc', 'numeric']],
    );
    rows.slice(1).forEach((row, i) => {
      assert.equal(table.barcode(i), row[0]);
      assert.equal(table.coords[2 * i], Math.fround(Number(row[header.indexOf('umap_1')])));
      assert.equal(table.coords[2 * i + 1], Math.fround(Number(row[header.indexOf('umap_2')])));
      for (const column of table.columns) {
        const text = row[header.indexOf(column.name)]!;
        if (column.kind === 'categorical') assert.equal(column.categories[column.codes[i]!], text, column.name);
        else assert.equal(column.values[i], Math.fround(Number(text)), column.name);
      }
    });

    const { data: result } = await readDataset(join(outDir, 'result.h5ad'));
    const read: RangeReader = async (start, length) => (await readFile(join(outDir, 'expression.bin'))).subarray(start, start + length);
    const index = await readExpressionIndex(read);
    assert.deepEqual(index.genes, result.var.index);
    // markers.csv: 5 rows per cluster, the top marker (column 2) first: genes that are surely expressed.
    const markers = parseCsv(await readFile(join(outDir, 'markers.csv'), 'utf8'));
    const topMarkers = manifest.clusters.names.map((_, k) => result.var.index.indexOf(markers[1 + 5 * k]![2]!));
    for (const gene of [0, 17, result.X.nCols - 1, ...topMarkers]) {
      const dense = new Float32Array(result.X.nRows);
      for (let r = 0; r < result.X.nRows; r++) {
        for (let k = result.X.indptr[r]!; k < result.X.indptr[r + 1]!; k++) if (result.X.indices[k] === gene) dense[r] = result.X.data[k]!;
      }
      assert.deepEqual(Array.from(await readGeneValues(read, index, gene)), Array.from(dense), `gene ${result.var.index[gene]}`);
    }
  });

  it('writes a result.h5ad that anndata loads, with the embeddings and clusters', { skip: !hasAnndata && 'python3 anndata is not installed' }, () => {
    const script = `
import json, sys, anndata, numpy as np
a = anndata.read_h5ad(sys.argv[1])
print(json.dumps({"shape": list(a.shape), "layers": list(a.layers.keys()), "obs": {c: str(a.obs[c].dtype) for c in a.obs.columns},
  "obsm": {k: list(v.shape) for k, v in a.obsm.items()}, "finite": all(bool(np.isfinite(v).all()) for v in a.obsm.values()),
  "x_finite": bool(np.isfinite(a.X.data).all()), "unique": bool(a.obs_names.is_unique and a.var_names.is_unique),
  "hvg": int(a.var["highly_variable"].astype(str).eq("True").sum()), "colors": len(a.uns["cgmvae_cluster_colors"]), "embedding": a.uns["default_embedding"],
  "markers": list(a.uns["cgmvae_markers"].columns), "integration": sorted(a.uns["cgmvae"]["integration"]["conditions"]["platform"].keys())}))`;
    const out = JSON.parse(execFileSync(PYTHON, ['-c', script, join(outDir, 'result.h5ad')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    assert.deepEqual(out.shape, [499, 28258 - 0].map((n, i) => (i === 1 ? manifest.genes.kept : n)));
    assert.deepEqual(out.layers, ['counts']);
    assert.equal(out.obs.cgmvae_cluster, 'category');
    assert.equal(out.obs.platform, 'category');
    assert.equal(out.obs.cgmvae_cluster_prob, 'float64');
    assert.deepEqual(out.obsm, { X_cgmvae: [499, 4], X_cgmvae_w: [499, 2], X_umap: [499, 2] });
    assert.ok(out.finite && out.x_finite && out.unique);
    assert.equal(out.hvg, 300);
    assert.equal(out.colors, manifest.clusters.count);
    assert.equal(out.embedding, 'X_umap');
    assert.ok(out.markers.includes('logfoldchanges'));
    assert.deepEqual(out.integration, ['categories', 'clusters_nmi', 'ilisi', 'ilisi_scaled']);
  });

  it('with label_key, also reports how the clusters and the latent space keep the labels', async () => {
    const labelled = await runPipeline({ inputPath: CELLBENCH, outDir: await tempDir(), params: { ...QUICK, label_key: 'cell_line_demuxlet' } });
    const label = labelled.integration!.label!;
    assert.equal(label.name, 'cell_line_demuxlet');
    for (const value of [label.asw_label, label.clisi_scaled, label.clusters_nmi]) assert.ok(value >= 0 && value <= 1, `${value}`);
    assert.ok(label.clusters_ari > 0.5, `labels train the clusters: ARI ${label.clusters_ari}`);
  });

  it('gives the same clusters and coordinates for the same seed', async () => {
    const again = join(await tempDir(), 'again');
    await runPipeline({ inputPath: CELLBENCH, outDir: again, params: QUICK });
    assert.equal(await readFile(join(again, 'cells.csv'), 'utf8'), await readFile(join(outDir, 'cells.csv'), 'utf8'));
  });
});

describe('runPipeline: bad input and cancellation', () => {
  it('refuses unknown parameters by name before reading anything', async () => {
    await assert.rejects(runPipeline({ inputPath: CELLBENCH, outDir: await tempDir(), params: { n_clusterz: 3 } }), (error: unknown) => error instanceof ParamsError && /"n_clusterz"/.test(error.message));
  });

  it('names a condition column the data lacks', async () => {
    const outDir = join(await tempDir(), 'out');
    await assert.rejects(runPipeline({ inputPath: CELLBENCH, outDir, params: { ...QUICK, condition_keys: ['batch'] } }), (error: unknown) => error instanceof PipelineInputError && /"batch" is not a column.*platform/.test(error.message));
    await assert.rejects(readdir(outDir), { code: 'ENOENT' });
  });

  it('stops at the next epoch when aborted during training', async () => {
    const controller = new AbortController();
    const outDir = join(await tempDir(), 'out');
    const run = runPipeline({ inputPath: CELLBENCH, outDir, params: { ...QUICK, epochs: 50 } }, {
      signal: controller.signal,
      onProgress: (e) => e.epoch === 2 && controller.abort(new Error('cancelled by test')),
    });
    await assert.rejects(run, /cancelled by test/);
    await assert.rejects(readdir(outDir), { code: 'ENOENT' });
    assert.deepEqual(await readdir(dirname(outDir)), [], 'nor is the cache of the kept cells left');
  });
});
