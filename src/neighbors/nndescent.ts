/**
 * Approximate k-nearest neighbours (Euclidean) by NN-descent (Dong, Charikar and Li 2011) as
 * pynndescent runs it for umap-learn: each point's heap starts from the leaves of random-projection
 * trees, then rounds of local joins compare every pair among a point's sampled neighbours and
 * reverse neighbours ("a neighbour of a neighbour is likely a neighbour"), new pairs only, until a
 * round changes fewer than DELTA * n * k heap entries. One seeded pass order: a seed fixes the graph.
 */
import type { DenseMatrix } from '../io/types.js';
import { siblingModule, startWorker } from '../child-module.js';
import { mulberry32 } from '../random.js';
import { heapReplaceTop, heapsToNeighbours } from './heap.js';
import type { KnnOptions, KnnResult } from './knn.js';

/** pynndescent's early-stopping fraction. */
const DELTA = 0.001;
/** pynndescent's cap on the sampled candidates per point and round (min(60, k) in umap-learn's call). */
const MAX_CANDIDATES = 60;

/** Heaps of the k nearest found so far, per point: a max-heap on squared distance with a "new" flag per entry. */
class NeighbourHeaps {
  readonly index: Int32Array;
  readonly dist2: Float64Array;
  readonly isNew: Uint8Array;

  constructor(n: number, readonly k: number) {
    this.index = new Int32Array(n * k).fill(-1);
    this.dist2 = new Float64Array(n * k).fill(Infinity);
    this.isNew = new Uint8Array(n * k);
  }

  /** Offers `j` at squared distance `d2` to point `i`'s heap; true when it entered (not already there, closer than the worst). */
  push(i: number, j: number, d2: number): boolean {
    const { index, dist2, isNew, k } = this;
    const base = i * k;
    if (d2 >= dist2[base]) return false;
    for (let m = 0; m < k; m++) if (index[base + m] === j) return false;
    heapReplaceTop(dist2, index, base, k, d2, j, isNew);
    return true;
  }
}

/** Per point, up to `size` candidates kept by smallest random priority (a uniform sample of the offers, as pynndescent's). */
class CandidateSample {
  readonly index: Int32Array;
  readonly priority: Float64Array;

  constructor(n: number, readonly size: number) {
    this.index = new Int32Array(n * size);
    this.priority = new Float64Array(n * size);
  }

  clear(): void {
    this.index.fill(-1);
    this.priority.fill(Infinity);
  }

  offer(i: number, j: number, p: number): void {
    const { index, priority, size } = this;
    const base = i * size;
    if (p >= priority[base]) return;
    for (let m = 0; m < size; m++) if (index[base + m] === j) return;
    heapReplaceTop(priority, index, base, size, p, j);
  }
}

function squaredDistance(data: Float32Array, d: number, p: number, q: number): number {
  const a = p * d;
  const b = q * d;
  let s = 0;
  for (let j = 0; j < d; j++) {
    const diff = data[a + j] - data[b + j];
    s += diff * diff;
  }
  return s;
}

/** Leaves (ranges of `order`) of one random-projection tree: split by the hyperplane halfway between two random points. */
function rpTreeLeaves(data: Float32Array, d: number, order: Int32Array, leafSize: number, random: () => number, visit: (start: number, end: number) => void): void {
  const normal = new Float64Array(d);
  const side = new Uint8Array(order.length);
  const stack: Array<[number, number]> = [[0, order.length]];
  while (stack.length > 0) {
    const [start, end] = stack.pop()!;
    const size = end - start;
    if (size <= leafSize) {
      visit(start, end);
      continue;
    }
    const a = order[start + Math.floor(random() * size)];
    let b = order[start + Math.floor(random() * (size - 1))];
    if (b === a) b = order[end - 1];
    let offset = 0;
    for (let j = 0; j < d; j++) {
      normal[j] = data[a * d + j] - data[b * d + j];
      offset += (normal[j] * (data[a * d + j] + data[b * d + j])) / 2;
    }
    let nLeft = 0;
    for (let p = start; p < end; p++) {
      let margin = -offset;
      const row = order[p] * d;
      for (let j = 0; j < d; j++) margin += normal[j] * data[row + j];
      // Points on the hyperplane (duplicates of a and b among them) go to a random side.
      const left = margin === 0 ? random() < 0.5 : margin < 0;
      side[p] = left ? 1 : 0;
      if (left) nLeft++;
    }
    let mid: number;
    if (nLeft === 0 || nLeft === size) {
      mid = start + (size >> 1); // all points on one side (identical points): halve by position
    } else {
      // Stable partition: left side first.
      const moved = Int32Array.from(order.subarray(start, end));
      let l = start;
      let r = start + nLeft;
      for (let p = 0; p < size; p++) order[side[start + p] ? l++ : r++] = moved[p];
      mid = start + nLeft;
    }
    stack.push([mid, end], [start, mid]);
  }
}

/** The shape of one NN-descent run: umap-learn's choices for pynndescent. */
function descentShape(n: number, k: number) {
  return {
    nTrees: Math.min(64, 5 + Math.round(Math.sqrt(n) / 20)),
    maxRounds: Math.max(5, Math.round(Math.log2(n))),
    leafSize: Math.max(10, k + 1),
  };
}

/** What the tree phase gives a thread: its heaps' rows and squared distances (all entries new). */
export interface TreeHeaps {
  readonly index: Int32Array;
  readonly dist2: Float64Array;
}

/** The heaps the leaves of the random-projection trees of `seeds` (one seed per tree) give: every pair in a leaf offered to both. */
export function treeHeaps(points: DenseMatrix, k: number, seeds: readonly number[], onTree: () => void = () => {}): TreeHeaps {
  const { nRows: n, nCols: d, data } = points;
  const heaps = new NeighbourHeaps(n, k);
  const { leafSize } = descentShape(n, k);
  const order = new Int32Array(n);
  for (const seed of seeds) {
    for (let i = 0; i < n; i++) order[i] = i;
    rpTreeLeaves(data, d, order, leafSize, mulberry32(seed), (start, end) => {
      for (let a = start; a < end; a++) {
        for (let b = a + 1; b < end; b++) {
          const p = order[a];
          const q = order[b];
          const d2 = squaredDistance(data, d, p, q);
          heaps.push(p, q, d2);
          heaps.push(q, p, d2);
        }
      }
    });
    onTree();
  }
  return { index: heaps.index, dist2: heaps.dist2 };
}

/** Each point's k nearest among the threads' tree heaps, in a canonical order (descending by distance, then row: a max-heap), all new. */
function mergeTreeHeaps(parts: readonly TreeHeaps[], n: number, k: number): NeighbourHeaps {
  const heaps = new NeighbourHeaps(n, k);
  const slots = Array.from({ length: parts.length * k }, (_, s) => s);
  const entries = { index: new Int32Array(parts.length * k), dist2: new Float64Array(parts.length * k) };
  for (let i = 0; i < n; i++) {
    let count = 0;
    for (const part of parts) {
      for (let m = 0; m < k; m++) {
        const j = part.index[i * k + m];
        if (j < 0) continue;
        let seen = false;
        for (let c = 0; c < count && !seen; c++) seen = entries.index[c] === j;
        if (seen) continue;
        entries.index[count] = j;
        entries.dist2[count++] = part.dist2[i * k + m];
      }
    }
    const ranked = slots.slice(0, count).sort((a, b) => entries.dist2[a] - entries.dist2[b] || entries.index[a] - entries.index[b]).slice(0, k);
    // The nearest last: an array sorted by descending key is a max-heap, the same whatever the threads were.
    ranked.reverse().forEach((slot, m) => {
      const at = i * k + (k - ranked.length) + m;
      heaps.index[at] = entries.index[slot];
      heaps.dist2[at] = entries.dist2[slot];
      heaps.isNew[at] = 1;
    });
  }
  return heaps;
}

/**
 * The run's generator and its trees' seeds, one each, drawn first (a tree is the same whichever thread builds it),
 * and the progress of the trees built on this thread, each standing for `treesPerTree` of them.
 */
function startDescent(points: DenseMatrix, k: number, options: KnnOptions, treesPerTree = 1) {
  const random = mulberry32(options.seed ?? 0);
  const seeds = Array.from({ length: descentShape(points.nRows, k).nTrees }, () => Math.floor(random() * 2 ** 32));
  let built = 0;
  const onTree = () => {
    options.signal?.throwIfAborted();
    built += treesPerTree;
    options.onProgress?.((TREE_SHARE * Math.min(built, seeds.length)) / seeds.length);
  };
  return { random, seeds, onTree };
}

/**
 * Approximate k nearest neighbours of every row among the other rows (`knn` checks the arguments).
 * Trees: umap-learn's choice for pynndescent, min(64, 5 + round(sqrt(n) / 20)); rounds at most max(5, round(log2 n)).
 */
export function nnDescent(points: DenseMatrix, k: number, options: KnnOptions = {}): KnnResult {
  const { random, seeds, onTree } = startDescent(points, k, options);
  return descend(points, mergeTreeHeaps([treeHeaps(points, k, seeds, onTree)], points.nRows, k), random, options);
}

/** nnDescent with its trees split over `threads` threads (./tree-worker.ts): the same graph, whatever the number of threads. */
export async function nnDescentOnThreads(points: DenseMatrix, k: number, threads: number, options: KnnOptions = {}): Promise<KnnResult> {
  const nThreads = Math.max(1, Math.min(threads, descentShape(points.nRows, k).nTrees));
  const { random, seeds, onTree } = startDescent(points, k, options, nThreads);
  const shared = new Float32Array(new SharedArrayBuffer(points.data.byteLength));
  shared.set(points.data);
  const sharedPoints = { nRows: points.nRows, nCols: points.nCols, data: shared };
  const mine = seeds.filter((_, t) => t % nThreads === 0);
  const workers = Array.from({ length: nThreads - 1 }, (_, w) => {
    const workerData: TreeWorkerData = { points: sharedPoints, k, seeds: seeds.filter((_, t) => t % nThreads === w + 1) };
    const worker = startWorker(TREE_WORKER, { workerData });
    return { worker, heaps: new Promise<TreeHeaps>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`knn: a tree worker exited (code ${code}) before it answered`)));
    }) };
  });
  try {
    const own = treeHeaps(sharedPoints, k, mine, onTree);
    const parts = [own, ...(await Promise.all(workers.map((w) => w.heaps)))];
    return descend(points, mergeTreeHeaps(parts, points.nRows, k), random, options);
  } finally {
    await Promise.all(workers.map(({ worker }) => worker.terminate()));
  }
}

/** What a tree worker builds: the shared points, k, and the seeds of its trees. */
export interface TreeWorkerData {
  readonly points: DenseMatrix;
  readonly k: number;
  readonly seeds: number[];
}

const TREE_WORKER = siblingModule(import.meta.url, 'tree-worker');
/** The share of the progress bar the trees fill (the joins the rest). */
const TREE_SHARE = 0.3;

/** The rounds of local joins from the tree heaps, until a round changes fewer than DELTA * n * k entries. */
function descend(points: DenseMatrix, heaps: NeighbourHeaps, random: () => number, options: KnnOptions): KnnResult {
  const { nRows: n, nCols: d, data } = points;
  const { k } = heaps;
  const { maxRounds } = descentShape(n, k);
  const progress = (f: number) => options.onProgress?.(f);
  // Heaps a small leaf left short get random points, as pynndescent's init_random.
  for (let i = 0; i < n; i++) {
    while (heaps.index[i * k] < 0) {
      const j = Math.floor(random() * n);
      if (j !== i) heaps.push(i, j, squaredDistance(data, d, i, j));
    }
  }

  const nCandidates = Math.min(MAX_CANDIDATES, k);
  const fresh = new CandidateSample(n, nCandidates);
  const old = new CandidateSample(n, nCandidates);
  for (let round = 0; round < maxRounds; round++) {
    options.signal?.throwIfAborted();
    fresh.clear();
    old.clear();
    for (let i = 0; i < n; i++) {
      for (let m = 0; m < k; m++) {
        const j = heaps.index[i * k + m];
        const priority = random();
        const sample = heaps.isNew[i * k + m] ? fresh : old;
        sample.offer(i, j, priority);
        sample.offer(j, i, priority);
      }
    }
    // Entries sampled as new this round become old: their pairs are about to be compared.
    for (let i = 0; i < n; i++) {
      for (let m = 0; m < k; m++) {
        if (!heaps.isNew[i * k + m]) continue;
        const j = heaps.index[i * k + m];
        for (let c = 0; c < nCandidates; c++) {
          if (fresh.index[i * nCandidates + c] === j) {
            heaps.isNew[i * k + m] = 0;
            break;
          }
        }
      }
    }
    let updates = 0;
    for (let i = 0; i < n; i++) {
      const base = i * nCandidates;
      for (let a = 0; a < nCandidates; a++) {
        const p = fresh.index[base + a];
        if (p < 0) continue;
        for (let b = a + 1; b < nCandidates; b++) {
          const q = fresh.index[base + b];
          if (q < 0) continue;
          const d2 = squaredDistance(data, d, p, q);
          if (heaps.push(p, q, d2)) updates++;
          if (heaps.push(q, p, d2)) updates++;
        }
        for (let b = 0; b < nCandidates; b++) {
          const q = old.index[base + b];
          if (q < 0 || q === p) continue;
          const d2 = squaredDistance(data, d, p, q);
          if (heaps.push(p, q, d2)) updates++;
          if (heaps.push(q, p, d2)) updates++;
        }
      }
    }
    progress(TREE_SHARE + ((1 - TREE_SHARE) * (round + 1)) / maxRounds);
    if (updates <= DELTA * n * k) break;
  }
  progress(1);

  return heapsToNeighbours(heaps.dist2, heaps.index, n, k);
}
