/**
 * Integration benchmark: does the conditional model remove batches rather than cluster them? Every run
 * is the whole pipeline (`runPipeline`, as `run` and the service do), scored against known labels, with
 * Seurat 4.3's CCA integration on the same counts as the reference line (`Rscript` with Seurat; its
 * figures are left out when R is absent). Figures go to bench/out/integration.json.
 *
 *   synthetic   bench/integration-data.ts counts: sigma x generator seed, training seeds; K = 6
 *   cellbench5  cellbench_5batches.h5ad, conditional on batch, K = 5, training seeds
 *   cellbench2  cellbench_2platforms.h5ad, conditional on platform, K = 3, scored on singlets
 *   regression  no conditions: pbmc3k (Seurat tutorial QC, against its clusters), pbmc_sorted (label),
 *               pbmc68k_reduced (bulk_labels), K = the reference's number of groups
 *   time        cellbench5 wall time, alternating with an earlier checkout's CLI (--baseline DIR)
 *
 *   npx tsx bench/integration.ts [--items synthetic,cellbench5,cellbench2,regression,time]
 *     [--sigmas 0.2,0.4,0.6] [--generator-seeds 0,1,2,3,4] [--seeds 0,1,2] [--params '{"key": value}']
 *     [--baseline ../baseline] [--out bench/out/integration.json]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { asCategories } from '../src/io/frame.js';
import { readDataset } from '../src/io/index.js';
import type { AnnData } from '../src/io/types.js';
import { adjustedRandIndex, normalizedMutualInfo } from '../src/metrics/index.js';
import { runPipeline, type PipelineManifest } from '../src/pipeline/index.js';
import { repoRoot, writeBatchEffectCounts } from './integration-data.js';

const { values: args } = parseArgs({
  options: {
    items: { type: 'string', default: 'synthetic,cellbench5,cellbench2,regression,time' },
    sigmas: { type: 'string', default: '0.2,0.4,0.6' },
    'generator-seeds': { type: 'string', default: '0,1,2,3,4' },
    seeds: { type: 'string', default: '0,1,2' },
    params: { type: 'string', default: '{}' },
    baseline: { type: 'string' },
    out: { type: 'string', default: join(repoRoot, 'bench', 'out', 'integration.json') },
  },
});
const list = (text: string) => text.split(',').filter(Boolean).map(Number);
const extraParams = JSON.parse(args.params!) as Record<string, unknown>;
const shared = join(repoRoot, '..', 'shared');
const work = join(repoRoot, 'bench', 'out', 'integration');
const hasR = spawnSync('Rscript', ['-e', 'suppressMessages(library(Seurat))']).status === 0;
const report: Record<string, unknown> = {
  started: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, load: loadavg() },
  params: extraParams,
  seurat: hasR ? 'Seurat CCA integration (shared/reference/seurat_default_and_integration.R)' : 'Rscript with Seurat absent: no reference line',
};
const save = () => writeFileSync(args.out!, JSON.stringify(report, null, 1));
const round = (v: number) => Number(v.toFixed(4));
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Codes of `key` for each barcode of `data`, and a predicate on cells. */
function codesOf(data: AnnData, key: string): Int32Array {
  return asCategories(data.obs, key, key).codes;
}

/** Cluster code per barcode of a run's cells.csv, -1 for cells it did not keep. */
function clustersOf(outDir: string, barcodes: readonly string[]): Int32Array {
  const rows = readFileSync(join(outDir, 'cells.csv'), 'utf8').trim().split('\n').slice(1).map((line) => line.split(','));
  const names = new Map<string, number>();
  const byBarcode = new Map(rows.map(([barcode, cluster]) => [barcode!, names.get(cluster!) ?? names.set(cluster!, names.size).get(cluster!)!]));
  return Int32Array.from(barcodes, (b) => byBarcode.get(b) ?? -1);
}

interface Scored {
  readonly ari: number;
  readonly nmi_condition: number | null;
  readonly clusters: number;
}

/** ARI with `truth` on the cells `keep` selects, and NMI of clusters with `condition`. */
function score(clusters: Int32Array, truth: Int32Array, condition: Int32Array | null, keep?: (cell: number) => boolean): Scored {
  const mask = (codes: Int32Array) => (keep ? codes.map((c, i) => (keep(i) ? c : -1)) : codes);
  return {
    ari: round(adjustedRandIndex(mask(truth), mask(clusters))),
    nmi_condition: condition ? round(normalizedMutualInfo(mask(condition), mask(clusters))) : null,
    clusters: new Set(Array.from(clusters).filter((c) => c >= 0)).size,
  };
}

/** Our pipeline on `input` with `params`; scores, seconds and the manifest's integration measures. */
async function ours(name: string, input: string, params: Record<string, unknown>, data: AnnData, truthKey: string, conditionKey: string | null, keep?: (cell: number) => boolean) {
  const outDir = join(work, 'runs', name);
  const manifest: PipelineManifest = await runPipeline({ inputPath: input, outDir, params: { ...params, ...extraParams } });
  const clusters = clustersOf(outDir, data.obs.index);
  const scored = score(clusters, codesOf(data, truthKey), conditionKey ? codesOf(data, conditionKey) : null, keep);
  const mixing = conditionKey ? manifest.integration?.conditions[conditionKey] : undefined;
  return { ...scored, ilisi_scaled: mixing ? round(mixing.ilisi_scaled) : null, seconds: round(manifest.total_seconds), fit_seconds: round(manifest.stage_seconds.fit ?? NaN) };
}

/** Seurat's CCA integration on `data` (counts) with `batchKey`, Louvain brought to `k` clusters; null without R. */
function seurat(name: string, data: AnnData, batchKey: string, k: number, truthKey: string, keep?: (cell: number) => boolean) {
  if (!hasR) return null;
  const dir = join(work, 'seurat', name);
  mkdirSync(dir, { recursive: true });
  const { X } = data;
  // MatrixMarket genes x cells, 1-based.
  const lines = [`%%MatrixMarket matrix coordinate real general`, `${X.nCols} ${X.nRows} ${X.indptr[X.nRows]}`];
  for (let r = 0; r < X.nRows; r++) for (let p = X.indptr[r]!; p < X.indptr[r + 1]!; p++) lines.push(`${X.indices[p]! + 1} ${r + 1} ${X.data[p]}`);
  writeFileSync(join(dir, 'matrix.mtx'), `${lines.join('\n')}\n`);
  writeFileSync(join(dir, 'genes.txt'), `${data.var.index.join('\n')}\n`);
  writeFileSync(join(dir, 'cells.txt'), `${data.obs.index.join('\n')}\n`);
  const batch = asCategories(data.obs, batchKey, batchKey);
  writeFileSync(join(dir, 'labels.csv'), `cell,batch\n${data.obs.index.map((b, i) => `${b},${batch.categories[batch.codes[i]!]}`).join('\n')}\n`);
  const started = performance.now();
  execFileSync('Rscript', [join(shared, 'reference', 'seurat_default_and_integration.R'), dir, String(k), 'int'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const seconds = (performance.now() - started) / 1000;
  const rows = readFileSync(join(dir, 'seurat_int.csv'), 'utf8').trim().split('\n').slice(1).map((line) => line.replaceAll('"', '').split(','));
  const kmatched = new Map(rows.map(([cell, , cluster]) => [cell!, Number(cluster)]));
  const clusters = Int32Array.from(data.obs.index, (b) => kmatched.get(b) ?? -1);
  return { ...score(clusters, codesOf(data, truthKey), codesOf(data, batchKey), keep), seconds: round(seconds) };
}

async function syntheticItem() {
  const results: Record<string, unknown>[] = [];
  for (const sigma of list(args.sigmas!)) {
    for (const generatorSeed of list(args['generator-seeds']!)) {
      const path = await writeBatchEffectCounts({ sigma, seed: generatorSeed });
      const { data } = await readDataset(path);
      const runs = [];
      for (const seed of list(args.seeds!)) runs.push({ seed, ...(await ours(`synthetic-${sigma}-${generatorSeed}-${seed}`, path, { condition_keys: ['batch'], n_clusters: 6, seed }, data, 'cell_type', 'batch')) });
      const entry = {
        sigma,
        generator_seed: generatorSeed,
        cells: data.X.nRows,
        runs,
        median_ari: median(runs.map((r) => r.ari)),
        median_nmi_batch: median(runs.map((r) => r.nmi_condition!)),
        seurat_cca: seurat(`synthetic-${sigma}-${generatorSeed}`, data, 'batch', 6, 'cell_type'),
      };
      results.push(entry);
      report.synthetic = results;
      save();
      console.error(`synthetic sigma ${sigma} generator ${generatorSeed}: median ARI ${entry.median_ari}, NMI(batch) ${entry.median_nmi_batch}`);
    }
  }
}

async function cellbenchItem(name: string, file: string, conditionKey: string, k: number, singletsOnly: boolean) {
  const path = join(shared, 'data', 'cellbench', file);
  if (!existsSync(path)) return void (report[name] = { skipped: `${path} absent` });
  const { data } = await readDataset(path);
  const singlet = asCategories(data.obs, 'demuxlet_cls', 'demuxlet_cls');
  const keep = singletsOnly ? (cell: number) => singlet.categories[singlet.codes[cell]!] === 'SNG' : undefined;
  const runs = [];
  for (const seed of list(args.seeds!)) {
    runs.push({ seed, ...(await ours(`${name}-${seed}`, path, { condition_keys: [conditionKey], n_clusters: k, seed }, data, 'cell_line_demuxlet', conditionKey, keep)) });
    report[name] = { runs };
    save();
  }
  report[name] = {
    runs,
    min_ari: Math.min(...runs.map((r) => r.ari)),
    max_nmi_condition: Math.max(...runs.map((r) => r.nmi_condition!)),
    seurat_cca: seurat(name, data, conditionKey, k, 'cell_line_demuxlet', keep),
  };
  save();
}

async function regressionItem() {
  const cases = [
    { name: 'pbmc3k', path: join(shared, 'data', 'pbmc3k', 'filtered_gene_bc_matrices', 'hg19'), k: 9, params: { min_cells: 3, min_genes: 201, max_genes: 2499, max_pct_mito: 5 } },
    { name: 'pbmc_sorted', path: join(shared, 'data', 'pbmc_sorted', 'pbmc_facs_sorted_2140.h5ad'), key: 'label', k: 9, params: {} },
    { name: 'pbmc68k_reduced', path: join(shared, 'data', 'pbmc68k_reduced', 'pbmc68k_reduced_counts_csr.h5ad'), key: 'bulk_labels', k: 10, params: {} },
  ];
  const results: Record<string, unknown> = {};
  for (const c of cases) {
    if (!existsSync(c.path)) continue;
    const { data } = await readDataset(c.path);
    let truth: Int32Array;
    if (c.key) truth = codesOf(data, c.key);
    else {
      const reference = new Map(readFileSync(join(shared, 'reference', 'pbmc3k_seurat_clusters.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.replaceAll('"', '').split(',') as [string, string]));
      truth = Int32Array.from(data.obs.index, (b) => (reference.has(b) ? Number(reference.get(b)) : -1));
    }
    const runs = [];
    for (const seed of list(args.seeds!)) {
      const outDir = join(work, 'runs', `${c.name}-${seed}`);
      const manifest = await runPipeline({ inputPath: c.path, outDir, params: { ...c.params, n_clusters: c.k, seed, ...extraParams } });
      runs.push({ seed, ...score(clustersOf(outDir, data.obs.index), truth, null), seconds: round(manifest.total_seconds) });
      results[c.name] = { runs };
      report.regression = results;
      save();
    }
    results[c.name] = { runs, mean_ari: round(runs.reduce((s, r) => s + r.ari, 0) / runs.length) };
    report.regression = results;
    save();
  }
}

/** The CLI of this checkout and of `--baseline` on the same file, alternating, twice each. */
function timeItem() {
  const path = join(shared, 'data', 'cellbench', 'cellbench_5batches.h5ad');
  if (!args.baseline || !existsSync(path)) return void (report.time = { skipped: 'needs --baseline DIR (an earlier checkout with node_modules) and the CellBench file' });
  const params = JSON.stringify({ condition_keys: ['batch'], n_clusters: 5, ...extraParams });
  const runs: { checkout: string; seconds: number }[] = [];
  for (let round = 0; round < 2; round++) {
    for (const [checkout, root] of [['this', repoRoot], ['baseline', args.baseline]] as const) {
      const paramsFile = join(work, `time-params-${checkout}.json`);
      writeFileSync(paramsFile, checkout === 'this' ? params : JSON.stringify({ condition_keys: ['batch'], n_clusters: 5 }));
      const cli = existsSync(join(root, 'src', 'cli', 'main.ts')) ? join(root, 'src', 'cli', 'main.ts') : join(root, 'src', 'cli.ts');
      const started = performance.now();
      execFileSync(process.execPath, ['--import', 'tsx', cli, 'run', path, '--out', join(work, 'time', `${checkout}-${round}`), '--params', paramsFile], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
      runs.push({ checkout, seconds: Number(((performance.now() - started) / 1000).toFixed(1)) });
      report.time = { runs, load: loadavg() };
      save();
    }
  }
  const mean = (who: string) => runs.filter((r) => r.checkout === who).reduce((s, r) => s + r.seconds, 0) / 2;
  report.time = { runs, ratio: Number((mean('this') / mean('baseline')).toFixed(3)), load: loadavg() };
  save();
}

mkdirSync(work, { recursive: true });
const items: Record<string, () => Promise<void> | void> = {
  synthetic: syntheticItem,
  cellbench5: () => cellbenchItem('cellbench5', 'cellbench_5batches.h5ad', 'batch', 5, false),
  cellbench2: () => cellbenchItem('cellbench2', 'cellbench_2platforms.h5ad', 'platform', 3, true),
  regression: regressionItem,
  time: timeItem,
};
for (const item of args.items!.split(',')) {
  if (!items[item]) throw new Error(`unknown item ${item}; items: ${Object.keys(items).join(', ')}`);
  console.error(`bench/integration: ${item}`);
  await items[item]();
}
report.finished = new Date().toISOString();
save();
console.log(args.out);
