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
 *     [--datasets pbmc3k,pbmc_sorted,pbmc68k_reduced (the regression's)]
 *     [--baseline ../baseline] [--out bench/out/integration.json] [--work bench/out/integration (runs and data)]
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { asCategories } from '../src/io/frame.js';
import { readDataset } from '../src/io/index.js';
import type { AnnData } from '../src/io/types.js';
import { runPipeline, type PipelineManifest } from '../src/pipeline/index.js';
import { repoRoot, writeBatchEffectCounts } from './integration-data.js';
import { clustersOf, codesOf, reportHead, runItems, runCheckout, median, referenceCodes, round, runSeurat, score, shared, timeAgainst } from './score.js';

const { values: args } = parseArgs({
  options: {
    items: { type: 'string', default: 'synthetic,cellbench5,cellbench2,regression,time' },
    sigmas: { type: 'string', default: '0.2,0.4,0.6' },
    'generator-seeds': { type: 'string', default: '0,1,2,3,4' },
    seeds: { type: 'string', default: '0,1,2' },
    datasets: { type: 'string', default: 'pbmc3k,pbmc_sorted,pbmc68k_reduced' },
    params: { type: 'string', default: '{}' },
    baseline: { type: 'string' },
    out: { type: 'string', default: join(repoRoot, 'bench', 'out', 'integration.json') },
    work: { type: 'string', default: join(repoRoot, 'bench', 'out', 'integration') },
  },
});
const list = (text: string) => text.split(',').filter(Boolean).map(Number);
const extraParams = JSON.parse(args.params!) as Record<string, unknown>;
const work = resolve(args.work!);
const report = reportHead(extraParams, 'Seurat CCA integration (shared/reference/seurat_default_and_integration.R)');
const save = () => writeFileSync(args.out!, JSON.stringify(report, null, 1));

/** Our pipeline on `input` with `params`; scores, seconds and the manifest's integration measures. */
async function ours(name: string, input: string, params: Record<string, unknown>, data: AnnData, truthKey: string, conditionKey: string | null, keep?: (cell: number) => boolean) {
  const outDir = join(work, 'runs', name);
  const manifest: PipelineManifest = await runPipeline({ inputPath: input, outDir, params: { ...params, ...extraParams } });
  const clusters = clustersOf(outDir, data.obs.index);
  const scored = score(clusters, codesOf(data, truthKey), conditionKey ? codesOf(data, conditionKey) : null, keep);
  const mixing = conditionKey ? manifest.integration?.conditions[conditionKey] : undefined;
  return { ...scored, ilisi_scaled: mixing ? round(mixing.ilisi_scaled) : null, seconds: round(manifest.total_seconds), fit_seconds: round(manifest.stage_seconds.fit ?? NaN) };
}

/** Seurat's CCA integration on `data` with `batchKey`, Louvain brought to `k` clusters, scored as ours; null without R. */
function seurat(name: string, data: AnnData, batchKey: string, k: number, truthKey: string, keep?: (cell: number) => boolean) {
  const run = runSeurat(join(work, 'seurat', name), data, k, batchKey);
  return run && { ...score(run.kmatched, codesOf(data, truthKey), codesOf(data, batchKey), keep), seconds: run.seconds };
}

async function syntheticItem() {
  const results: Record<string, unknown>[] = [];
  for (const sigma of list(args.sigmas!)) {
    for (const generatorSeed of list(args['generator-seeds']!)) {
      const path = await writeBatchEffectCounts({ sigma, seed: generatorSeed }, join(work, `synthetic-sigma${sigma}-seed${generatorSeed}.h5ad`));
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
    if (!args.datasets!.split(',').includes(c.name) || !existsSync(c.path)) continue;
    const { data } = await readDataset(c.path);
    const truth = c.key ? codesOf(data, c.key) : referenceCodes(join(shared, 'reference', 'pbmc3k_seurat_clusters.csv'), data.obs.index);
    const runs = [];
    for (const seed of list(args.seeds!)) {
      const outDir = join(work, 'runs', `${c.name}-${seed}`);
      const manifest = await runPipeline({ inputPath: c.path, outDir, params: { ...c.params, n_clusters: c.k, seed, ...extraParams } });
      runs.push({ seed, ...score(clustersOf(outDir, data.obs.index), truth, null), seconds: round(manifest.total_seconds) });
      results[c.name] = { runs };
      report.regression = results;
      save();
    }
    // Today's figure: the --baseline checkout on the same cells, seeds and K.
    const baselineRuns = args.baseline
      ? list(args.seeds!).map((seed) => {
          const outDir = join(work, 'runs', `${c.name}-${seed}-baseline`);
          const seconds = runCheckout(args.baseline!, c.path, { ...c.params, n_clusters: c.k, seed }, outDir);
          return { seed, ...score(clustersOf(outDir, data.obs.index), truth, null), seconds };
        })
      : null;
    const mean = (rs: { ari: number }[]) => round(rs.reduce((s, r) => s + r.ari, 0) / rs.length);
    results[c.name] = { runs, mean_ari: mean(runs), baseline: baselineRuns && { runs: baselineRuns, mean_ari: mean(baselineRuns) } };
    report.regression = results;
    save();
  }
}

/** The CLI of this checkout and of `--baseline` on the same file, alternating, twice each. */
function timeItem() {
  const path = join(shared, 'data', 'cellbench', 'cellbench_5batches.h5ad');
  if (!args.baseline || !existsSync(path)) return void (report.time = { skipped: 'needs --baseline DIR (an earlier checkout with node_modules) and the CellBench file' });
  const params = { condition_keys: ['batch'], n_clusters: 5 };
  report.time = { ...timeAgainst(args.baseline, path, { ...params, ...extraParams }, params, join(work, 'time')), load: loadavg() };
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
await runItems('integration', args.items!, items, report, args.out!);
