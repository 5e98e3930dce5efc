/**
 * UMAP + kNN at scale: 100,000 points x 16 dims (seeded mixture of 10 Gaussians) through our kNN and
 * layout on one thread and on every core, and through umap-learn on the same points (Debian's
 * python3 with umap-learn, after its numba warm-up), each in its own process. Scores every embedding
 * by trustworthiness (5,000-point subsample, 15 neighbours, sklearn's definition) and kNN
 * preservation (share of each of 2,000 points' 14 exact latent neighbours among its 14 nearest in
 * the embedding), and our kNN by recall against the exact neighbours of those 2,000 points.
 * Writes bench/out/umap-scale.json and one PNG per embedding.
 *
 *   npx tsx bench/umap-scale.ts                       # 100,000 points, all variants
 *   npx tsx bench/umap-scale.ts --n=30000 --only=ours,umap-learn
 *   npx tsx bench/umap-scale.ts --n=1000000 --only=ours-1-thread,ours --knn-only=1   # NN-descent on one thread and on every core
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { umap } from '../src/embed/umap.js';
import type { DenseMatrix } from '../src/io/types.js';
import { knn, knnOnThreads } from '../src/neighbors/knn.js';
import { umapPng } from '../src/plot/umap.js';
import { mulberry32 } from '../src/random.js';
import { gaussianMixture } from '../test/fixtures/points/mixture.js';
import { reportHead, round } from './score.js';

const N_DIMS = 16;
const N_CLUSTERS = 10;
const N_NEIGHBORS = 15;
const SEED = 1;
const TRUST_SAMPLE = 5000;
const QUERIES = 2000;
const VARIANTS = ['exact-knn', 'ours-1-thread', 'ours', 'umap-learn'] as const;
type Variant = (typeof VARIANTS)[number];
const outDir = fileURLToPath(new URL('./out/', import.meta.url));
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const n = Number(arg('n') ?? 100_000);
/** --knn-only=1: time and score the kNN of each variant, not its layout. */
const knnOnly = arg('knn-only') === '1';
const pointsFile = `${outDir}umap-scale-points.f32`;
const embeddingFile = (variant: Variant) => `${outDir}umap-scale-${variant}.f32`;
const knnFile = (variant: Variant) => `${outDir}umap-scale-knn-${variant}.i32`;

interface VariantResult {
  readonly variant: Variant;
  readonly seconds: number;
  readonly knnSeconds?: number;
  /** Every thread's CPU time. */
  readonly cpuSeconds: number;
  readonly peakRssMB: number;
  readonly [extra: string]: unknown;
}

function readPoints(): DenseMatrix {
  const bytes = readFileSync(pointsFile);
  return { nRows: n, nCols: N_DIMS, data: new Float32Array(bytes.buffer, bytes.byteOffset, n * N_DIMS) };
}

/** One variant, in this (child) process. */
async function runVariant(variant: Exclude<Variant, 'umap-learn'>): Promise<VariantResult> {
  const points = readPoints();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const method = variant === 'exact-knn' ? 'exact' : 'auto';
  const threads = variant === 'ours' ? availableParallelism() : 1;
  const neighbours = await knnOnThreads(points, N_NEIGHBORS - 1, threads, { method, seed: SEED });
  const knnSeconds = (performance.now() - start) / 1000;
  if (variant !== 'exact-knn' && !knnOnly) {
    const embedding = await umap(points, { nNeighbors: N_NEIGHBORS, seed: SEED, knn: neighbours, threads });
    writeFileSync(embeddingFile(variant), embedding.data);
  }
  if (variant !== 'exact-knn') writeFileSync(knnFile(variant), neighbours.indices);
  const cpu = process.cpuUsage(cpuStart);
  return { variant, seconds: (performance.now() - start) / 1000, knnSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMB: process.resourceUsage().maxRSS / 1024 };
}

function squaredDistance(m: DenseMatrix, i: number, j: number): number {
  let s = 0;
  for (let c = 0; c < m.nCols; c++) {
    const diff = m.data[i * m.nCols + c] - m.data[j * m.nCols + c];
    s += diff * diff;
  }
  return s;
}

/** Indices of the k rows of `candidates` nearest to row `i` (itself excluded), brute force. */
function nearest(m: DenseMatrix, i: number, candidates: ArrayLike<number>, k: number): number[] {
  const best: Array<[number, number]> = [];
  for (let c = 0; c < candidates.length; c++) {
    const j = candidates[c];
    if (j === i) continue;
    const d = squaredDistance(m, i, j);
    if (best.length < k || d < best[best.length - 1][0]) {
      best.splice(best.findIndex((b) => b[0] > d) === -1 ? best.length : best.findIndex((b) => b[0] > d), 0, [d, j]);
      if (best.length > k) best.pop();
    }
  }
  return best.map((b) => b[1]);
}

/** sklearn.manifold.trustworthiness of `embedding` for `points`, both restricted to the rows `sample`. */
function trustworthiness(points: DenseMatrix, embedding: DenseMatrix, sample: Int32Array, k: number): number {
  const m = sample.length;
  let penalty = 0;
  const rank = new Int32Array(m);
  const order = new Int32Array(m);
  const dist = new Float64Array(m);
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < m; b++) {
      dist[b] = b === a ? -1 : squaredDistance(points, sample[a], sample[b]);
      order[b] = b;
    }
    order.sort((x, y) => dist[x] - dist[y] || x - y);
    for (let r = 0; r < m; r++) rank[order[r]] = r; // rank 0 is the point itself
    const inEmbedding = nearest(embedding, sample[a], sample, k).map((row) => sample.indexOf(row));
    for (const b of inEmbedding) penalty += Math.max(0, rank[b] - k);
  }
  return 1 - (2 / (m * k * (2 * m - 3 * k - 1))) * penalty;
}

function sampleRows(count: number, seed: number): Int32Array {
  const random = mulberry32(seed);
  const rows = new Set<number>();
  while (rows.size < count) rows.add(Math.floor(random() * n));
  return Int32Array.from([...rows].sort((a, b) => a - b));
}

function score(points: DenseMatrix, embedding: DenseMatrix, trustSample: Int32Array, queries: Int32Array, exact: number[][]) {
  const all = Int32Array.from({ length: n }, (_, i) => i);
  let kept = 0;
  queries.forEach((q, i) => {
    const truth = new Set(exact[i]);
    for (const j of nearest(embedding, q, all, N_NEIGHBORS - 1)) if (truth.has(j)) kept++;
  });
  return { trustworthiness: round(trustworthiness(points, embedding, trustSample, N_NEIGHBORS)), knnPreservation: round(kept / (queries.length * (N_NEIGHBORS - 1))) };
}

const child = arg('variant') as Exclude<Variant, 'umap-learn'> | undefined;
if (child) {
  process.stdout.write(JSON.stringify(await runVariant(child)));
} else {
  mkdirSync(outDir, { recursive: true });
  const only = arg('only')?.split(',');
  const { points, labels } = gaussianMixture(n, N_DIMS, N_CLUSTERS, SEED);
  writeFileSync(pointsFile, points.data);
  const head = reportHead({ n, dims: N_DIMS, clusters: N_CLUSTERS, nNeighbors: N_NEIGHBORS, seed: SEED }, 'umap-learn on the same points in the same run');
  const results: Array<VariantResult & Record<string, unknown>> = [];
  const trustSample = sampleRows(TRUST_SAMPLE, 2);
  const queries = sampleRows(QUERIES, 3);
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const exact = Array.from(queries, (q) => nearest(points, q, all, N_NEIGHBORS - 1));
  for (const variant of VARIANTS.filter((v) => !only || only.includes(v))) {
    const stdout = variant === 'umap-learn'
      ? execFileSync('/usr/bin/python3', [fileURLToPath(new URL('./umap_learn.py', import.meta.url)), pointsFile, String(n), String(N_DIMS), String(SEED), embeddingFile(variant)], { encoding: 'utf8', maxBuffer: 1 << 20 })
      : execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), `--n=${n}`, `--variant=${variant}`, `--knn-only=${knnOnly ? 1 : 0}`], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const result: VariantResult & Record<string, unknown> = JSON.parse(stdout.trim().split('\n').at(-1)!);
    if (variant !== 'exact-knn' && !knnOnly) {
      const bytes = readFileSync(embeddingFile(variant));
      const embedding = { nRows: n, nCols: 2, data: new Float32Array(bytes.buffer, bytes.byteOffset, n * 2) };
      Object.assign(result, score(points, embedding, trustSample, queries, exact));
      const names = Array.from({ length: N_CLUSTERS }, (_, c) => `component ${c}`);
      writeFileSync(`${outDir}umap-scale-${variant}.png`, umapPng(embedding, labels, names, { title: `${variant}: ${n} points x ${N_DIMS} dims` }));
    }
    if (variant === 'ours' || variant === 'ours-1-thread') {
      const bytes = readFileSync(knnFile(variant));
      const found = new Int32Array(bytes.buffer, bytes.byteOffset, n * (N_NEIGHBORS - 1));
      let hits = 0;
      queries.forEach((q, i) => {
        const truth = new Set(exact[i]);
        for (let m = 0; m < N_NEIGHBORS - 1; m++) if (truth.has(found[q * (N_NEIGHBORS - 1) + m])) hits++;
      });
      result.knnRecall = round(hits / (queries.length * (N_NEIGHBORS - 1)));
    }
    console.log(JSON.stringify(result));
    results.push(result);
  }
  const ours = (['ours-1-thread', 'ours'] as const).filter((v) => results.some((r) => r.variant === v));
  const sameGraph = ours.length === 2 ? readFileSync(knnFile(ours[0])).equals(readFileSync(knnFile(ours[1]))) : undefined;
  const file = `${outDir}umap-scale${knnOnly ? '-knn' : ''}.json`;
  writeFileSync(file, JSON.stringify({ ...head, finished: new Date().toISOString(), results, ...(sameGraph === undefined ? {} : { sameGraphOnEveryThreadCount: sameGraph }) }, null, 2));
  console.log(`wrote ${file}`);
}
