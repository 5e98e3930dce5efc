/**
 * UMAP benchmark on 20 000 points x 16 dims (seeded mixture of 10 Gaussians): our exact kNN alone,
 * umap-js alone, umap-js given our kNN, and our typed-array UMAP. Each variant runs in its own child
 * process so its peak RSS is its own. Writes bench/out/umap.json and one PNG per embedding.
 *
 *   npx tsx bench/umap.ts                 # all variants
 *   npx tsx bench/umap.ts --only=knn,umap # a subset
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { UMAP } from 'umap-js';
import { knn } from '../src/neighbors/knn.js';
import { mulberry32 } from '../src/random.js';
import { umap } from '../src/embed/umap.js';
import type { DenseMatrix } from '../src/io/types.js';
import { umapPng } from '../src/plot/umap.js';
import { gaussianMixture } from '../test/fixtures/points/mixture.js';

const N_POINTS = 20_000;
const N_DIMS = 16;
const N_CLUSTERS = 10;
const N_NEIGHBORS = 15;
const SEED = 1;
const VARIANTS = ['knn', 'umap-js', 'umap-js+knn', 'umap'] as const;
type Variant = (typeof VARIANTS)[number];
const outDir = fileURLToPath(new URL('./out/', import.meta.url));

interface VariantResult {
  readonly variant: Variant;
  readonly seconds: number;
  /** User + system CPU time of the child: steadier than wall time on a shared machine. */
  readonly cpuSeconds: number;
  readonly peakRssMB: number;
}

/** umap-js wants rows as number arrays; its kNN format puts the point itself first at distance 0. */
function rowsOf(points: DenseMatrix): number[][] {
  return Array.from({ length: points.nRows }, (_, i) => Array.from(points.data.subarray(i * points.nCols, (i + 1) * points.nCols)));
}

async function runVariant(variant: Variant): Promise<VariantResult> {
  const { points, labels } = gaussianMixture(N_POINTS, N_DIMS, N_CLUSTERS, SEED);
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  let embedding: DenseMatrix | undefined;
  if (variant === 'knn') {
    knn(points, N_NEIGHBORS - 1);
  } else if (variant === 'umap') {
    embedding = await umap(points, { nNeighbors: N_NEIGHBORS, seed: SEED });
  } else {
    const model = new UMAP({ nNeighbors: N_NEIGHBORS, minDist: 0.5, spread: 1, random: mulberry32(SEED) });
    if (variant === 'umap-js+knn') {
      const neighbours = knn(points, N_NEIGHBORS - 1);
      const k = neighbours.k;
      const indices = Array.from({ length: N_POINTS }, (_, i) => [i, ...neighbours.indices.subarray(i * k, (i + 1) * k)]);
      const distances = Array.from({ length: N_POINTS }, (_, i) => [0, ...neighbours.distances.subarray(i * k, (i + 1) * k)]);
      model.setPrecomputedKNN(indices, distances);
    }
    const rows = model.fit(rowsOf(points));
    embedding = { nRows: N_POINTS, nCols: 2, data: Float32Array.from(rows.flat()) };
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  if (embedding) {
    const names = Array.from({ length: N_CLUSTERS }, (_, c) => `component ${c}`);
    writeFileSync(`${outDir}umap-${variant}.png`, umapPng(embedding, labels, names, { title: `${variant}: ${N_POINTS} points x ${N_DIMS} dims` }));
  }
  return { variant, seconds, cpuSeconds, peakRssMB: process.resourceUsage().maxRSS / 1024 };
}

const child = process.argv.find((a) => a.startsWith('--variant='))?.slice('--variant='.length) as Variant | undefined;
if (child) {
  process.stdout.write(JSON.stringify(await runVariant(child)));
} else {
  mkdirSync(outDir, { recursive: true });
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  const results: VariantResult[] = [];
  const loadBefore = loadavg()[0];
  for (const variant of VARIANTS.filter((v) => !only || only.includes(v))) {
    const stdout = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), `--variant=${variant}`], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const result = JSON.parse(stdout) as VariantResult;
    console.log(`${variant.padEnd(12)} ${result.seconds.toFixed(2).padStart(7)} s wall ${result.cpuSeconds.toFixed(2).padStart(7)} s CPU  peak RSS ${result.peakRssMB.toFixed(0).padStart(5)} MB`);
    results.push(result);
  }
  const report = {
    points: N_POINTS, dims: N_DIMS, clusters: N_CLUSTERS, nNeighbors: N_NEIGHBORS, seed: SEED,
    node: process.version, loadAverage1mBefore: loadBefore, loadAverage1mAfter: loadavg()[0], results,
  };
  writeFileSync(`${outDir}umap.json`, JSON.stringify(report, null, 2));
  console.log(`wrote ${outDir}umap.json`);
}
