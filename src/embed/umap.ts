/**
 * UMAP of latents into 2 dimensions, with umap-learn / scanpy `tl.umap` semantics and defaults
 * (n_neighbors 15 counting the cell itself, min_dist 0.5, spread 1, 500 epochs up to 10 000 cells
 * else 200, learning rate 1, 5 negative samples per edge, repulsion 1), laying out the neighbour
 * graph of src/neighbors. Written over typed arrays rather than calling umap-js, whose Map-based
 * sparse matrices dominate its time and memory (docs/decisions.md). Difference from scanpy: the
 * layout starts from the two principal components of the latents (umap-learn's init="pca") rather
 * than a spectral embedding; above BLOCKS_ABOVE cells the layout runs in blocks spread over worker
 * threads (./layout.ts), where an edge between two blocks sees its far end as of the epoch's start.
 */
import { availableParallelism } from 'node:os';
import { siblingModule, startWorker } from '../child-module.js';
import type { DenseMatrix } from '../io/types.js';
import { assertFinite, knnOnThreads, spatialOrder, type KnnResult } from '../neighbors/knn.js';
import { fuzzyGraph, type WeightedGraph } from '../neighbors/graph.js';
import { mulberry32 } from '../random.js';
import { blockSeed, CONTROL, layoutEpoch, NEGATIVE_SAMPLE_RATE, type LayoutState, type LayoutWorkerData } from './layout.js';

export interface UmapOptions {
  /** Neighbourhood size including the cell itself, as in umap-learn; clamped to the number of cells. */
  readonly nNeighbors?: number;
  readonly minDist?: number;
  readonly spread?: number;
  /** Defaults to 500 up to 10 000 cells, else 200 (umap-learn). */
  readonly nEpochs?: number;
  readonly seed?: number;
  /** Neighbours already computed for these latents (k >= nNeighbors - 1); skips the kNN step. */
  readonly knn?: KnnResult;
  /** Threads for the layout (default: the available cores); the result does not depend on it. */
  readonly threads?: number;
  readonly signal?: AbortSignal;
  /** Fraction of the whole UMAP done, and whether the kNN search or the layout is running. */
  readonly onProgress?: (fraction: number, phase: 'knn' | 'layout') => void;
}

/** umap-learn's defaults where an option is omitted. */
export const UMAP_DEFAULTS = { nNeighbors: 15, minDist: 0.5, spread: 1 };

/** Cells above which the layout runs in LAYOUT_BLOCKS blocks (./layout.ts), spread over the cores; one block below, umap-learn's sequential loop. */
export const BLOCKS_ABOVE = 20_000;
const LAYOUT_BLOCKS = 8;
/** Share of the progress range given to the kNN step when it runs here. */
const KNN_PROGRESS_SHARE = 0.2;

/**
 * The a, b of the low-dimensional similarity 1 / (1 + a d^(2b)) that best fits (least squares, as
 * umap-learn's find_ab_params with scipy curve_fit) 1 below minDist and exp(-(d - minDist) / spread)
 * beyond, on 300 points of [0, 3 spread]. Levenberg-Marquardt from (1, 1).
 */
export function fitCurveParams(minDist: number, spread: number): { a: number; b: number } {
  const nPoints = 300;
  const xs = new Float64Array(nPoints);
  const ys = new Float64Array(nPoints);
  for (let i = 0; i < nPoints; i++) {
    xs[i] = (3 * spread * i) / (nPoints - 1);
    ys[i] = xs[i] < minDist ? 1 : Math.exp(-(xs[i] - minDist) / spread);
  }
  const sumSquares = (a: number, b: number): number => {
    let s = 0;
    for (let i = 0; i < nPoints; i++) {
      const r = 1 / (1 + a * Math.pow(xs[i], 2 * b)) - ys[i];
      s += r * r;
    }
    return s;
  };
  let a = 1;
  let b = 1;
  let lambda = 1e-3;
  let cost = sumSquares(a, b);
  for (let iter = 0; iter < 500; iter++) {
    // Normal equations J^T J and J^T r of the residuals at (a, b).
    let jaa = 0, jab = 0, jbb = 0, ga = 0, gb = 0;
    for (let i = 0; i < nPoints; i++) {
      const x = xs[i];
      const powX = x > 0 ? Math.pow(x, 2 * b) : 0;
      const denom = 1 + a * powX;
      const r = 1 / denom - ys[i];
      const da = -powX / (denom * denom);
      const db = x > 0 ? (-a * powX * 2 * Math.log(x)) / (denom * denom) : 0;
      jaa += da * da; jab += da * db; jbb += db * db; ga += da * r; gb += db * r;
    }
    const maa = jaa * (1 + lambda);
    const mbb = jbb * (1 + lambda);
    const det = maa * mbb - jab * jab;
    const stepA = -(mbb * ga - jab * gb) / det;
    const stepB = -(maa * gb - jab * ga) / det;
    const trial = sumSquares(a + stepA, b + stepB);
    if (Number.isFinite(trial) && trial < cost) {
      const improvement = cost - trial;
      a += stepA; b += stepB; cost = trial; lambda /= 10;
      if (improvement < 1e-15 * Math.max(cost, 1e-30) || Math.abs(stepA) + Math.abs(stepB) < 1e-12) break;
    } else {
      lambda *= 10;
      if (lambda > 1e12) break;
    }
  }
  return { a, b };
}


/** Two leading principal components of the latents, each scaled to [0, 10] as umap-learn scales its init; random where degenerate. */
function pcaInit(latents: DenseMatrix, random: () => number): Float64Array {
  const { nRows: n, nCols: d, data } = latents;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j] / n;
  const cov = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const cj = data[i * d + j] - mean[j];
      for (let l = j; l < d; l++) cov[j * d + l] += cj * (data[i * d + l] - mean[l]);
    }
  }
  for (let j = 0; j < d; j++) for (let l = 0; l < j; l++) cov[j * d + l] = cov[l * d + j];

  const components: Float64Array[] = [];
  for (let c = 0; c < 2; c++) {
    // Power iteration, deflated against the components already found.
    let v = Float64Array.from({ length: d }, (_, j) => 1 + j / d);
    for (let iter = 0; iter < 200; iter++) {
      for (const u of components) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += u[j] * v[j];
        for (let j = 0; j < d; j++) v[j] -= dot * u[j];
      }
      const next = new Float64Array(d);
      for (let j = 0; j < d; j++) for (let l = 0; l < d; l++) next[j] += cov[j * d + l] * v[l];
      const norm = Math.hypot(...next);
      if (!(norm > 0)) break;
      for (let j = 0; j < d; j++) next[j] /= norm;
      v = next;
    }
    components.push(v);
  }

  const embedding = new Float64Array(n * 2);
  for (let c = 0; c < 2; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (data[i * d + j] - mean[j]) * components[c][j];
      embedding[i * 2 + c] = s;
      lo = Math.min(lo, s);
      hi = Math.max(hi, s);
    }
    const range = hi - lo;
    // A flat component (identical or 1-d latents) gets uniform random coordinates instead.
    const flat = !(range > 1e-12 * Math.max(1, Math.abs(hi)));
    for (let i = 0; i < n; i++) {
      embedding[i * 2 + c] = flat ? 10 * random() : (10 * (embedding[i * 2 + c] - lo)) / range;
    }
  }
  return embedding;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Edges kept for the layout and how often each is sampled (umap-learn's make_epochs_per_sample). */
interface SamplingSchedule {
  readonly head: Int32Array;
  readonly tail: Int32Array;
  readonly epochsPerSample: Float64Array;
}

/** Drops edges weaker than max / nEpochs (they would never be sampled); the others are sampled every max / w epochs. */
function samplingSchedule(graph: WeightedGraph, nEpochs: number): SamplingSchedule {
  let maxWeight = 0;
  for (const w of graph.weight) maxWeight = Math.max(maxWeight, w);
  const keep: number[] = [];
  for (let e = 0; e < graph.weight.length; e++) if (graph.weight[e] >= maxWeight / nEpochs && graph.weight[e] > 0) keep.push(e);
  const head = new Int32Array(keep.length);
  const tail = new Int32Array(keep.length);
  const epochsPerSample = new Float64Array(keep.length);
  keep.forEach((edge, e) => {
    head[e] = graph.head[edge];
    tail[e] = graph.tail[edge];
    epochsPerSample[e] = maxWeight / graph.weight[edge];
  });
  return { head, tail, epochsPerSample };
}

/**
 * The layout's cells in the order it stores them and their blocks: above BLOCKS_ABOVE cells the
 * kd-tree order of the latents cut into LAYOUT_BLOCKS equal runs (few edges cross, and each thread
 * writes its own stretch of memory), else the given order in one block.
 */
function layoutBlocks(latents: DenseMatrix): { order: Int32Array | null; nBlocks: number } {
  return latents.nRows <= BLOCKS_ABOVE ? { order: null, nBlocks: 1 } : { order: spatialOrder(latents), nBlocks: LAYOUT_BLOCKS };
}

/** A Float64Array on shared memory (workers see the same bytes) or ordinary memory. */
function float64s(length: number, shared: boolean): Float64Array {
  return shared ? new Float64Array(new SharedArrayBuffer(length * 8)) : new Float64Array(length);
}

function int32s(length: number, shared: boolean): Int32Array {
  return shared ? new Int32Array(new SharedArrayBuffer(length * 4)) : new Int32Array(length);
}

/** The layout's arrays, cells at their positions in `order`, edges grouped by block of their head (stably: one block keeps the graph's order). */
function layoutState(y0: Float64Array, schedule: SamplingSchedule, position: Int32Array, nBlocks: number, nEpochs: number, ab: { a: number; b: number }, shared: boolean): LayoutState {
  const n = position.length;
  const nEdges = schedule.head.length;
  const blockOf = int32s(n, shared);
  for (let p = 0; p < n; p++) blockOf[p] = Math.floor((p * nBlocks) / n);
  const blockStart = int32s(nBlocks + 1, shared);
  for (let e = 0; e < nEdges; e++) blockStart[blockOf[position[schedule.head[e]]] + 1]++;
  for (let c = 0; c < nBlocks; c++) blockStart[c + 1] += blockStart[c];
  const fill = blockStart.slice(0, nBlocks);
  const head = int32s(nEdges, shared);
  const tail = int32s(nEdges, shared);
  const epochsPerSample = float64s(nEdges, shared);
  for (let e = 0; e < nEdges; e++) {
    const slot = fill[blockOf[position[schedule.head[e]]]]++;
    head[slot] = position[schedule.head[e]];
    tail[slot] = position[schedule.tail[e]];
    epochsPerSample[slot] = schedule.epochsPerSample[e];
  }
  const epochOfNextSample = float64s(nEdges, shared);
  epochOfNextSample.set(epochsPerSample);
  const epochOfNextNegativeSample = float64s(nEdges, shared);
  for (let e = 0; e < nEdges; e++) epochOfNextNegativeSample[e] = epochsPerSample[e] / NEGATIVE_SAMPLE_RATE;
  const y = float64s(n * 2, shared);
  for (let i = 0; i < n; i++) y.set(y0.subarray(i * 2, i * 2 + 2), position[i] * 2);
  return { n, nEpochs, ...ab, y, snapshot: float64s(nBlocks > 1 ? n * 2 : 0, shared), blockOf, blockStart, head, tail, epochsPerSample, epochOfNextSample, epochOfNextNegativeSample };
}

const WORKER_FILE = siblingModule(import.meta.url, 'layout-worker');

/** Resolves once `control[CONTROL.done]` reaches `target`; rejects when a worker failed. */
async function workersDone(control: Int32Array, target: number, failure: () => Error | undefined): Promise<void> {
  for (;;) {
    if (Atomics.load(control, CONTROL.failed)) throw failure() ?? new Error('umap: a layout worker failed');
    const done = Atomics.load(control, CONTROL.done);
    if (done >= target) return;
    const wait = Atomics.waitAsync(control, CONTROL.done, done);
    if (wait.async) await wait.value;
  }
}

/**
 * umap-learn's optimize_layout_euclidean: per epoch each due edge pulls its ends together and pushes
 * its head away from random cells. Blocks (./layout.ts) beyond the first run on worker threads,
 * block c on thread c mod threads; a seed fixes the result whatever the thread count. Yields to the
 * event loop after every epoch so `signal` aborts are seen.
 */
async function optimizeLayout(
  y: Float64Array,
  schedule: SamplingSchedule,
  ab: { a: number; b: number },
  nEpochs: number,
  blocks: { order: Int32Array | null; nBlocks: number },
  random: () => number,
  { seed, threads, signal, onProgress }: { seed: number; threads: number; signal?: AbortSignal; onProgress: (fraction: number) => void },
): Promise<void> {
  const { nBlocks } = blocks;
  const nThreads = Math.max(1, Math.min(nBlocks, threads));
  const n = y.length / 2;
  const position = new Int32Array(n);
  for (let p = 0; p < n; p++) position[blocks.order ? blocks.order[p] : p] = p;
  const state = layoutState(y, schedule, position, nBlocks, nEpochs, ab, nThreads > 1);
  const mine = Array.from({ length: nBlocks }, (_, c) => c).filter((c) => c % nThreads === 0);
  const randoms = nBlocks === 1 ? [random] : mine.map((c) => mulberry32(blockSeed(seed, c)));
  const control = new Int32Array(new SharedArrayBuffer(CONTROL.length * 4));
  let failure: Error | undefined;
  const workers = Array.from({ length: nThreads - 1 }, (_, t) => {
    const workerData: LayoutWorkerData = { state, blocks: mine.map((c) => c + t + 1).filter((c) => c < nBlocks), seed, control };
    const worker = startWorker(WORKER_FILE, { workerData });
    worker.on('error', (error) => {
      failure = error;
      Atomics.store(control, CONTROL.failed, 1);
      Atomics.notify(control, CONTROL.done);
    });
    return worker;
  });
  try {
    for (let epoch = 0; epoch < nEpochs; epoch++) {
      if (nBlocks > 1) state.snapshot.set(state.y);
      Atomics.store(control, CONTROL.epoch, epoch + 1);
      Atomics.notify(control, CONTROL.epoch);
      mine.forEach((block, i) => layoutEpoch(state, block, epoch, randoms[i]));
      await workersDone(control, (epoch + 1) * workers.length, () => failure);
      onProgress((epoch + 1) / nEpochs);
      await yieldToEventLoop();
      signal?.throwIfAborted();
    }
  } finally {
    Atomics.store(control, CONTROL.epoch, -1);
    Atomics.notify(control, CONTROL.epoch);
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  for (let i = 0; i < n; i++) y.set(state.y.subarray(position[i] * 2, position[i] * 2 + 2), i * 2);
}

/** 2-d UMAP embedding (n x 2) of the rows of `latents`; the same seed gives the same coordinates. */
export async function umap(latents: DenseMatrix, options: UmapOptions = {}): Promise<DenseMatrix> {
  const { nRows: n, nCols: d } = latents;
  const { minDist = UMAP_DEFAULTS.minDist, spread = UMAP_DEFAULTS.spread, seed = 0, threads = availableParallelism(), signal, onProgress } = options;
  if (latents.data.length !== n * d) throw new RangeError(`umap: data length ${latents.data.length} != ${n} x ${d}`);
  if (!(minDist >= 0 && spread > 0 && minDist <= spread * 3)) throw new RangeError(`umap: need 0 <= minDist <= 3 spread and spread > 0, got ${minDist}, ${spread}`);
  const requested = options.nNeighbors ?? UMAP_DEFAULTS.nNeighbors;
  if (!Number.isInteger(requested) || requested < 2) throw new RangeError(`umap: nNeighbors must be an integer >= 2, got ${requested}`);
  const nEpochs = options.nEpochs ?? (n <= 10_000 ? 500 : 200);
  if (!Number.isInteger(nEpochs) || nEpochs < 1) throw new RangeError(`umap: nEpochs must be a positive integer, got ${nEpochs}`);
  assertFinite(latents, 'umap');
  if (n <= 1) return { nRows: n, nCols: 2, data: new Float32Array(n * 2) };

  const nNeighborsWithSelf = Math.min(requested, n);
  const random = mulberry32(seed);
  const knnShare = options.knn ? 0 : KNN_PROGRESS_SHARE;
  let neighbours = options.knn;
  if (neighbours) {
    if (neighbours.nRows !== n || neighbours.k < nNeighborsWithSelf - 1) {
      throw new RangeError(`umap: precomputed kNN has ${neighbours.nRows} rows x ${neighbours.k}, need ${n} x >= ${nNeighborsWithSelf - 1}`);
    }
  } else {
    neighbours = await knnOnThreads(latents, nNeighborsWithSelf - 1, threads, { signal, seed, onProgress: onProgress && ((f) => onProgress(f * knnShare, 'knn')) });
  }
  await yieldToEventLoop();
  signal?.throwIfAborted();

  const graph = fuzzyGraph(neighbours, nNeighborsWithSelf, n);

  const schedule = samplingSchedule(graph, nEpochs);
  const y = pcaInit(latents, random);
  await optimizeLayout(y, schedule, fitCurveParams(minDist, spread), nEpochs, layoutBlocks(latents), random, {
    seed, threads, signal, onProgress: (f) => onProgress?.(knnShare + (1 - knnShare) * f, 'layout'),
  });

  const coords = Float32Array.from(y);
  for (let i = 0; i < coords.length; i++) {
    if (!Number.isFinite(coords[i])) throw new Error(`umap: the layout diverged (non-finite coordinate for cell ${i >> 1})`);
  }
  return { nRows: n, nCols: 2, data: coords };
}
