/**
 * k-means (k-means++ seeding, Lloyd iterations, best of several restarts) on a dense row-major
 * matrix: it places the mixture components on the clusters of the warmed-up latent space, as VaDE
 * initialises its prior from a GMM fitted to a pretrained encoder's codes.
 */
import { Rng } from '../random.js';

export interface KMeansOptions {
  readonly restarts?: number;
  readonly maxIterations?: number;
  readonly seed?: number;
}

export interface KMeansResult {
  /** [k x d] centroids. */
  readonly centroids: Float64Array;
  readonly labels: Int32Array;
  /** Sum of squared distances to the assigned centroids. */
  readonly inertia: number;
}

function squaredDistance(x: Float32Array, row: number, c: Float64Array, centroid: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const diff = x[row * d + j]! - c[centroid * d + j]!;
    s += diff * diff;
  }
  return s;
}

/** Index of the centroid nearest to row `row` of x. */
export function nearestCentroid(x: Float32Array, row: number, centroids: Float64Array, d: number, k: number): number {
  let best = 0;
  let bestDist = Infinity;
  for (let m = 0; m < k; m++) {
    const dist = squaredDistance(x, row, centroids, m, d);
    if (dist < bestDist) [best, bestDist] = [m, dist];
  }
  return best;
}

/** k-means++: each next centroid is a row drawn with probability proportional to its squared distance to the nearest chosen one. */
function seedCentroids(x: Float32Array, n: number, d: number, k: number, rng: Rng): Float64Array {
  const c = new Float64Array(k * d);
  const nearest = new Float64Array(n).fill(Infinity);
  let pick = Math.floor(rng.uniform() * n);
  for (let m = 0; m < k; m++) {
    for (let j = 0; j < d; j++) c[m * d + j] = x[pick * d + j]!;
    let total = 0;
    for (let i = 0; i < n; i++) {
      nearest[i] = Math.min(nearest[i]!, squaredDistance(x, i, c, m, d));
      total += nearest[i]!;
    }
    let target = rng.uniform() * total;
    pick = n - 1;
    for (let i = 0; i < n; i++) {
      target -= nearest[i]!;
      if (target < 0) {
        pick = i;
        break;
      }
    }
  }
  return c;
}

function lloyd(x: Float32Array, n: number, d: number, k: number, centroids: Float64Array, maxIterations: number): { labels: Int32Array; inertia: number } {
  const labels = new Int32Array(n).fill(-1);
  let inertia = 0;
  for (let iter = 0; iter < maxIterations; iter++) {
    let changed = 0;
    inertia = 0;
    for (let i = 0; i < n; i++) {
      const best = nearestCentroid(x, i, centroids, d, k);
      if (labels[i] !== best) changed++;
      labels[i] = best;
      inertia += squaredDistance(x, i, centroids, best, d);
    }
    if (changed === 0) break;
    updateCentroids(x, d, labels, centroids);
  }
  return { labels, inertia };
}

/** Set each centroid ([k x d]) to the mean of the rows of x labelled with it; a cluster without rows keeps its centroid. */
export function updateCentroids(x: Float32Array, d: number, labels: Int32Array, centroids: Float64Array): void {
  const k = centroids.length / d;
  const sums = new Float64Array(k * d);
  const counts = new Int32Array(k);
  labels.forEach((m, i) => {
    counts[m]++;
    for (let j = 0; j < d; j++) sums[m * d + j] += x[i * d + j]!;
  });
  for (let m = 0; m < k; m++) if (counts[m]! > 0) for (let j = 0; j < d; j++) centroids[m * d + j] = sums[m * d + j]! / counts[m]!;
}

/** k-means of the n = x.length / d rows of x. */
export function kMeans(x: Float32Array, d: number, k: number, options: KMeansOptions = {}): KMeansResult {
  const n = x.length / d;
  if (!Number.isInteger(n) || n < k || k < 1) throw new Error(`k-means needs at least k = ${k} rows of ${d} values, got ${x.length} values`);
  const rng = new Rng(options.seed ?? 0);
  let best: KMeansResult | null = null;
  for (let r = 0; r < (options.restarts ?? 10); r++) {
    const centroids = seedCentroids(x, n, d, k, rng);
    const { labels, inertia } = lloyd(x, n, d, k, centroids, options.maxIterations ?? 100);
    if (!best || inertia < best.inertia) best = { centroids, labels, inertia };
  }
  return best!;
}
