/**
 * The whole pipeline on real data, as a lab would run it: per-stage wall times and peak memory,
 * and agreement with reference partitions. Figures go to bench/out/pipeline.json.
 *
 *   pbmc3k (Seurat tutorial QC): ARI/NMI with the tutorial's clusters on the cells both keep.
 *   CellBench, conditional on platform: ARI with the cell line on singlets, NMI with platform.
 *   A generated 100k-cell file (pbmc3k cells sampled and thinned), default parameters: per-stage times, peak
 *   memory and ARI with the tutorial clusters of each cell's source (with --large).
 *
 * Usage: tsx bench/pipeline.ts [--large | --large-only] [--large-cells 100000,1000000] [--epochs N] [--seeds 0,1,2]  (pbmc3k once per seed: the spread across seeds)
 *   [--out bench/out/pipeline.json] [--work bench/out/pipeline (runs)]
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readDataset } from '../src/io/index.js';
import { asCategories } from '../src/io/frame.js';
import { adjustedRandIndex, normalizedMutualInfo } from '../src/metrics/index.js';
import { runPipeline, type PipelineManifest } from '../src/pipeline/index.js';
import { ensureGenerated, pbmc3kPath, repoRoot, sharedData, sourceBarcode } from './generate.js';

const { values: flags } = parseArgs({
  options: {
    large: { type: 'boolean' },
    'large-only': { type: 'boolean' },
    'large-cells': { type: 'string', default: '100000' },
    epochs: { type: 'string' },
    seeds: { type: 'string', default: '0' },
    out: { type: 'string', default: join(repoRoot, 'bench', 'out', 'pipeline.json') },
    work: { type: 'string', default: join(repoRoot, 'bench', 'out', 'pipeline') },
  },
});
const outRoot = flags.work!;
const epochs = flags.epochs ? { epochs: Number(flags.epochs) } : {};

/** Cluster of each barcode from a run's cells.csv. */
function clustersOf(outDir: string): Map<string, string> {
  const lines = readFileSync(join(outDir, 'cells.csv'), 'utf8').trim().split('\n').slice(1);
  return new Map(lines.map((line) => line.split(',') as [string, string]).map(([barcode, cluster]) => [barcode, cluster]));
}

/** ARI and NMI between two labelings over the barcodes both have. */
function agreement(ours: Map<string, string>, reference: Map<string, string>) {
  const shared = [...ours.keys()].filter((b) => reference.has(b));
  const codes = (labels: string[]) => {
    const index = new Map<string, number>();
    return labels.map((l) => index.get(l) ?? index.set(l, index.size).get(l)!);
  };
  const a = codes(shared.map((b) => reference.get(b)!));
  const b = codes(shared.map((b) => ours.get(b)!));
  return { cells: shared.length, ari: adjustedRandIndex(a, b), nmi: normalizedMutualInfo(a, b) };
}

async function run(name: string, inputPath: string, params: Record<string, unknown>): Promise<{ outDir: string; manifest: PipelineManifest }> {
  const outDir = join(outRoot, name);
  const manifest = await runPipeline({ inputPath, outDir, params: { ...params, ...epochs } }, {
    onProgress: (e) => e.fraction === 0 && process.stderr.write(`${name}: ${e.stage} ${e.message}\n`),
  });
  return { outDir, manifest };
}

const figures = (m: PipelineManifest) => ({
  total_seconds: m.total_seconds,
  stage_seconds: m.stage_seconds,
  peak_rss_mb: m.peak_rss_mb,
  backend: m.backend,
  cells: m.cells,
  genes: m.genes,
  clusters: m.clusters,
  training: m.training,
});

if (!existsSync(sharedData)) {
  console.log('bench/pipeline: ../shared/data is absent; nothing to measure');
} else {
  const results: Record<string, unknown> = {};

  const tutorialQc = { min_cells: 3, min_genes: 201, max_genes: 2499, max_pct_mito: 4.9999 };
  const seurat = new Map(
    readFileSync(join(sharedData, '..', 'reference', 'pbmc3k_seurat_clusters.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.replaceAll('"', '').split(',') as [string, string]),
  );
  for (const seed of flags['large-only'] ? [] : flags.seeds!.split(',').map(Number)) {
    const pbmc = await run(`pbmc3k-seed${seed}`, pbmc3kPath, { ...tutorialQc, n_clusters: 9, seed });
    results[`pbmc3k_seed${seed}`] = { params: pbmc.manifest.params, ...figures(pbmc.manifest), seurat_tutorial_clusters: agreement(clustersOf(pbmc.outDir), seurat) };
  }

  if (!flags['large-only']) {
    const cellbenchPath = join(sharedData, 'cellbench', 'cellbench_2platforms.h5ad');
    const cellbench = await run('cellbench', cellbenchPath, { condition_keys: ['platform'], n_clusters: 3 });
    const { data } = await readDataset(cellbenchPath);
    const line = asCategories(data.obs, 'cell_line_demuxlet', 'cell line');
    const singlet = asCategories(data.obs, 'demuxlet_cls', 'demuxlet class');
    const platform = asCategories(data.obs, 'platform', 'platform');
    const singlets = new Map(data.obs.index.flatMap((b, i) => (singlet.categories[singlet.codes[i]!] === 'SNG' ? [[b, line.categories[line.codes[i]!]!] as [string, string]] : [])));
    const platforms = new Map(data.obs.index.map((b, i) => [b, platform.categories[platform.codes[i]!]!] as [string, string]));
    const ours = clustersOf(cellbench.outDir);
    results['cellbench_2platforms'] = {
      ...figures(cellbench.manifest),
      cell_line_on_singlets: agreement(ours, singlets),
      platform_nmi: agreement(ours, platforms).nmi,
    };
  }

  if (flags.large || flags['large-only']) {
    // Default parameters, as the target asks; the tutorial clusters of each cell's source score it.
    for (const nCells of flags['large-cells']!.split(',').map(Number)) {
      const large = await run(`pbmc3k-sampled-${nCells}`, await ensureGenerated(nCells), {});
      const largeClusters = clustersOf(large.outDir);
      const sourceClusters = new Map([...largeClusters.keys()].flatMap((b) => (seurat.has(sourceBarcode(b)) ? [[b, seurat.get(sourceBarcode(b))!] as [string, string]] : [])));
      results[`generated_${nCells / 1000}k`] = { params: large.manifest.params, ...figures(large.manifest), seurat_tutorial_clusters_of_sources: agreement(largeClusters, sourceClusters) };
    }
  }

  await mkdir(outRoot, { recursive: true });
  await writeFile(flags.out!, JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2));
  console.log(JSON.stringify(results, null, 2));
}
