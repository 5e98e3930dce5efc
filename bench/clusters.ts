/**
 * Cluster-number benchmark: with default parameters (n_clusters 'auto'), does the pipeline find the
 * types a lab would call, the same on any seed? Every run is the whole pipeline; Seurat 4.3's default
 * workflow on the same counts is the reference line (shared/reference's script; left out without R).
 * Figures go to bench/out/clusters.json.
 *
 *   labelled   pbmc3k (against the Seurat tutorial's clusters, on the cells both keep), pbmc_sorted
 *              (label), pbmc68k_reduced (bulk_labels): ARI per seed, its range and mean, the K chosen
 *   k          CellBench 2 platforms (singlets, 3 lines) and 5 batches (5 lines), with their conditions:
 *              the K chosen against the number of cell lines, and the ARI
 *   time       pbmc3k wall time with defaults, alternating with an earlier checkout's CLI (--baseline DIR)
 *
 *   npx tsx bench/clusters.ts [--items labelled,k,time] [--seeds 0,1,2,3,4] [--params '{"key": value}']
 *     [--baseline ../baseline] [--no-seurat] [--out bench/out/clusters.json] [--work bench/out/clusters (runs)]
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { asCategories } from '../src/io/frame.js';
import { readDataset } from '../src/io/index.js';
import { runPipeline } from '../src/pipeline/index.js';
import { repoRoot } from './integration-data.js';
import { keepRows } from './model-data.js';
import { clustersOf, codesOf, reportHead, runItems, referenceCodes, round, runSeurat, score, shared, timeAgainst } from './score.js';

const { values: args } = parseArgs({
  options: {
    items: { type: 'string', default: 'labelled,k,time' },
    seeds: { type: 'string', default: '0,1,2,3,4' },
    datasets: { type: 'string', default: 'pbmc3k,pbmc_sorted,pbmc68k_reduced' },
    params: { type: 'string', default: '{}' },
    baseline: { type: 'string' },
    'no-seurat': { type: 'boolean', default: false },
    out: { type: 'string', default: join(repoRoot, 'bench', 'out', 'clusters.json') },
    work: { type: 'string', default: join(repoRoot, 'bench', 'out', 'clusters') },
  },
});
const seeds = args.seeds!.split(',').map(Number);
const extraParams = JSON.parse(args.params!) as Record<string, unknown>;
const work = resolve(args.work!);
const report = reportHead(extraParams, 'Seurat default workflow (shared/reference/seurat_default_and_integration.R), resolution 0.8');
const save = () => writeFileSync(args.out!, JSON.stringify(report, null, 1));
const pbmc3k = join(shared, 'data', 'pbmc3k', 'filtered_gene_bc_matrices', 'hg19');

const LABELLED = [
  { name: 'pbmc3k', path: pbmc3k, truth: (barcodes: readonly string[]) => referenceCodes(join(shared, 'reference', 'pbmc3k_seurat_clusters.csv'), barcodes) },
  { name: 'pbmc_sorted', path: join(shared, 'data', 'pbmc_sorted', 'pbmc_facs_sorted_2140.h5ad'), key: 'label' },
  { name: 'pbmc68k_reduced', path: join(shared, 'data', 'pbmc68k_reduced', 'pbmc68k_reduced_counts_csr.h5ad'), key: 'bulk_labels' },
];

async function labelledItem() {
  const results: Record<string, unknown> = {};
  for (const c of LABELLED.filter((d) => args.datasets!.split(',').includes(d.name))) {
    if (!existsSync(c.path)) continue;
    const { data } = await readDataset(c.path);
    const truth = c.key ? codesOf(data, c.key) : c.truth!(data.obs.index);
    const runs = [];
    for (const seed of seeds) {
      const outDir = join(work, 'runs', `${c.name}-${seed}`);
      const manifest = await runPipeline({ inputPath: c.path, outDir, params: { seed, ...extraParams } });
      runs.push({ seed, ...score(clustersOf(outDir, data.obs.index), truth, null), seconds: round(manifest.total_seconds), sizes: manifest.clusters.sizes });
      results[c.name] = { runs };
      report.labelled = results;
      save();
    }
    const aris = runs.map((r) => r.ari);
    // Seurat on the cells its reference was made on: pbmc3k's tutorial clusters come with the tutorial's QC.
    const reference = c.key ? data : keepRows(data, (cell) => truth[cell]! >= 0);
    const seurat = args['no-seurat'] ? null : runSeurat(join(work, 'seurat', c.name), reference, new Set(Array.from(truth).filter((t) => t >= 0)).size);
    const seuratTruth = c.key ? truth : truth.filter((t) => t >= 0);
    results[c.name] = {
      runs,
      mean_ari: round(aris.reduce((a, b) => a + b, 0) / aris.length),
      ari_range: round(Math.max(...aris) - Math.min(...aris)),
      seurat_default: seurat ? { ...score(seurat.clusters, seuratTruth, null), seconds: seurat.seconds } : null,
    };
    report.labelled = results;
    save();
  }
}

async function kItem() {
  const sets = [
    { name: 'cellbench_2platforms', file: 'cellbench_2platforms.h5ad', condition: 'platform', lines: 3, singlets: true },
    { name: 'cellbench_5batches', file: 'cellbench_5batches.h5ad', condition: 'batch', lines: 5, singlets: false },
  ];
  const results: Record<string, unknown> = {};
  for (const set of sets) {
    const path = join(shared, 'data', 'cellbench', set.file);
    if (!existsSync(path)) continue;
    const { data } = await readDataset(path);
    const singlet = asCategories(data.obs, 'demuxlet_cls', 'demuxlet_cls');
    const keep = set.singlets ? (cell: number) => singlet.categories[singlet.codes[cell]!] === 'SNG' : undefined;
    const runs = [];
    for (const seed of seeds) {
      const outDir = join(work, 'runs', `${set.name}-${seed}`);
      await runPipeline({ inputPath: path, outDir, params: { condition_keys: [set.condition], seed, ...extraParams } });
      runs.push({ seed, ...score(clustersOf(outDir, data.obs.index), codesOf(data, 'cell_line_demuxlet'), codesOf(data, set.condition), keep) });
      results[set.name] = { cell_lines: set.lines, runs };
      report.k = results;
      save();
    }
  }
}

function timeItem() {
  if (!args.baseline || !existsSync(pbmc3k)) return void (report.time = { skipped: 'needs --baseline DIR (an earlier checkout with node_modules) and pbmc3k' });
  report.time = { ...timeAgainst(args.baseline, pbmc3k, extraParams, {}, join(work, 'time')), load: loadavg() };
  save();
}

mkdirSync(work, { recursive: true });
const items: Record<string, () => Promise<void> | void> = { labelled: labelledItem, k: kItem, time: timeItem };
await runItems('clusters', args.items!, items, report, args.out!);
