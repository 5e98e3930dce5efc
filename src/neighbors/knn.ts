/**
 * k-nearest neighbours (Euclidean) for a few-dimensional dense matrix (latents): exact up to
 * APPROXIMATE_ABOVE rows, NN-descent (./nndescent.ts) above, where it is faster at recall >= 0.95
 * (docs/decisions.md, bench/umap-scale.ts).
 *
 * Exact method: points are ordered by a kd-tree split (widest dimension at the median) into leaves of at
 * most LEAF_SIZE consecutive rows; each query leaf is compared brute force with the other leaves in
 * ascending order of their box-to-box distance, stopping once that lower bound exceeds every query's
 * current k-th distance, and skipping a single query whose own distance to a leaf's box exceeds its
 * k-th distance. The result is exact; the pruning only skips pairs that cannot enter any heap, so on
 * clustered latents most cross-cluster pairs are never computed (timings: bench/umap.ts).
 */
import type { DenseMatrix } from '../io/types.js';
import { heapReplaceTop, heapsToNeighbours } from './heap.js';
import { nnDescent, nnDescentOnThreads } from './nndescent.js';

export interface KnnResult {
  readonly nRows: number;
  readonly k: number;
  /** n x k neighbour rows, nearest first, never the row itself. */
  readonly indices: Int32Array;
  /** n x k Euclidean distances matching `indices`, ascending. */
  readonly distances: Float32Array;
}

export interface KnnOptions {
  /** `auto` (default): exact up to APPROXIMATE_ABOVE rows, else NN-descent. */
  readonly method?: KnnMethod;
  /** Seeds NN-descent's trees and samples; the exact search ignores it. */
  readonly seed?: number;
  /** Checked between query leaves (a synchronous loop: it sees aborts raised from onProgress or another thread). */
  readonly signal?: AbortSignal;
  readonly onProgress?: (fraction: number) => void;
}

export type KnnMethod = 'auto' | 'exact' | 'nndescent';

/** Rows above which `auto` switches to NN-descent: where the two take the same time on a 16-dim mixture. */
export const APPROXIMATE_ABOVE = 20_000;

const LEAF_SIZE = 64;

/** Rows of `points` reordered into spatially compact leaves; `order[p]` is the original row at position p. */
interface LeafLayout {
  readonly order: Int32Array;
  readonly leafStart: Int32Array;
  readonly leafEnd: Int32Array;
}

function buildLeaves(points: DenseMatrix): LeafLayout {
  const { nRows: n, nCols: d, data } = points;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const starts: number[] = [];
  const ends: number[] = [];
  // Depth-first with an explicit stack; pushing the right half first keeps leaves in spatial order.
  const stack: Array<[number, number]> = [[0, n]];
  while (stack.length > 0) {
    const [start, end] = stack.pop()!;
    if (end - start <= LEAF_SIZE) {
      starts.push(start);
      ends.push(end);
      continue;
    }
    let splitDim = 0;
    let widest = -1;
    for (let j = 0; j < d; j++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let p = start; p < end; p++) {
        const v = data[order[p] * d + j];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (hi - lo > widest) {
        widest = hi - lo;
        splitDim = j;
      }
    }
    order.subarray(start, end).sort((a, b) => data[a * d + splitDim] - data[b * d + splitDim] || a - b);
    const mid = (start + end) >>> 1;
    stack.push([mid, end], [start, mid]);
  }
  return { order, leafStart: Int32Array.from(starts), leafEnd: Int32Array.from(ends) };
}

/** Squared distance from point `p` (row of `pts`) to the box [boxMin, boxMax] of leaf `leaf`. */
function pointBoxDist2(pts: Float32Array, p: number, boxMin: Float64Array, boxMax: Float64Array, leaf: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const v = pts[p * d + j];
    const lo = boxMin[leaf * d + j];
    const hi = boxMax[leaf * d + j];
    const gap = v < lo ? lo - v : v > hi ? v - hi : 0;
    s += gap * gap;
  }
  return s;
}

/** The rows in kd-tree leaf order (widest dimension split at the median): consecutive rows are near each other. */
export function spatialOrder(points: DenseMatrix): Int32Array {
  return buildLeaves(points).order;
}

/** Throws a RangeError naming the first non-finite entry of `matrix`. */
export function assertFinite(matrix: DenseMatrix, caller: string): void {
  const { nCols: d, data } = matrix;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new RangeError(`${caller}: non-finite value at row ${Math.floor(i / d)}, column ${i % d}`);
  }
}

/** The search `knn` runs, after checking its arguments. */
function checkedMethod(points: DenseMatrix, k: number, options: KnnOptions): 'exact' | 'nndescent' {
  const { nRows: n, nCols: d, data } = points;
  if (!Number.isInteger(k) || k < 1 || k >= n) {
    throw new RangeError(`knn: k must be an integer in [1, ${n - 1}] for ${n} rows, got ${k}`);
  }
  if (data.length !== n * d) throw new RangeError(`knn: data length ${data.length} != ${n} x ${d}`);
  assertFinite(points, 'knn');
  const method = options.method ?? 'auto';
  return method === 'nndescent' || (method === 'auto' && n > APPROXIMATE_ABOVE) ? 'nndescent' : 'exact';
}

/** The k nearest neighbours of every row among the other rows. Requires 1 <= k < nRows and finite values. */
export function knn(points: DenseMatrix, k: number, options: KnnOptions = {}): KnnResult {
  return checkedMethod(points, k, options) === 'nndescent' ? nnDescent(points, k, options) : exactKnn(points, k, options);
}

/** knn with NN-descent's trees built on `threads` threads: the same graph as knn's. */
export async function knnOnThreads(points: DenseMatrix, k: number, threads: number, options: KnnOptions = {}): Promise<KnnResult> {
  return checkedMethod(points, k, options) === 'nndescent' ? nnDescentOnThreads(points, k, threads, options) : exactKnn(points, k, options);
}

/** The exact search (kd-tree leaves with box pruning) behind `knn`. */
function exactKnn(points: DenseMatrix, k: number, options: KnnOptions): KnnResult {
  const { nRows: n, nCols: d, data } = points;
  const { order, leafStart, leafEnd } = buildLeaves(points);
  const nLeaves = leafStart.length;

  // Rows copied in leaf order so each leaf is one contiguous block.
  const pts = new Float32Array(n * d);
  for (let p = 0; p < n; p++) pts.set(data.subarray(order[p] * d, order[p] * d + d), p * d);

  const boxMin = new Float64Array(nLeaves * d).fill(Infinity);
  const boxMax = new Float64Array(nLeaves * d).fill(-Infinity);
  for (let leaf = 0; leaf < nLeaves; leaf++) {
    for (let p = leafStart[leaf]; p < leafEnd[leaf]; p++) {
      for (let j = 0; j < d; j++) {
        const v = pts[p * d + j];
        if (v < boxMin[leaf * d + j]) boxMin[leaf * d + j] = v;
        if (v > boxMax[leaf * d + j]) boxMax[leaf * d + j] = v;
      }
    }
  }

  // Heaps hold squared distances and positions (in leaf order) per query position.
  const heapDist = new Float64Array(n * k).fill(Infinity);
  const heapIndex = new Int32Array(n * k).fill(-1);
  const leafBound = new Float64Array(nLeaves);
  const leafOrder = new Int32Array(nLeaves);

  for (let q = 0; q < nLeaves; q++) {
    options.signal?.throwIfAborted();
    for (let c = 0; c < nLeaves; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const gap = Math.max(0, boxMin[c * d + j] - boxMax[q * d + j], boxMin[q * d + j] - boxMax[c * d + j]);
        s += gap * gap;
      }
      leafBound[c] = s;
      leafOrder[c] = c;
    }
    leafOrder.sort((a, b) => leafBound[a] - leafBound[b] || a - b);
    const qStart = leafStart[q];
    const qEnd = leafEnd[q];
    for (let r = 0; r < nLeaves; r++) {
      const c = leafOrder[r];
      let worstTop = 0;
      for (let i = qStart; i < qEnd; i++) worstTop = Math.max(worstTop, heapDist[i * k]);
      if (leafBound[c] > worstTop) break;
      const cStart = leafStart[c];
      const cEnd = leafEnd[c];
      for (let i = qStart; i < qEnd; i++) {
        const base = i * k;
        let top = heapDist[base];
        if (pointBoxDist2(pts, i, boxMin, boxMax, c, d) > top) continue;
        const qi = i * d;
        for (let p = cStart; p < cEnd; p++) {
          if (p === i) continue;
          const pi = p * d;
          let s = 0;
          for (let j = 0; j < d; j++) {
            const diff = pts[qi + j] - pts[pi + j];
            s += diff * diff;
          }
          if (s < top) {
            heapReplaceTop(heapDist, heapIndex, base, k, s, p);
            top = heapDist[base];
          }
        }
      }
    }
    options.onProgress?.((q + 1) / nLeaves);
  }

  return heapsToNeighbours(heapDist, heapIndex, n, k, order);
}
