/**
 * The component placement: once the latent space has warmed up, the K components of p(z|w,y,c) are
 * put on a partition of the cells' latent means (as VaDE initialises its prior from a GMM of a
 * pretrained encoder's codes), then training follows that partition's labels for a while so that
 * q(y|z) and q(d|z), restarted from uniform, learn the moved components.
 */
import * as tf from '@tensorflow/tfjs';
import { kMeans, nearestCentroid, updateCentroids } from '../../cluster/kmeans.js';
import { communities, partitionGraph } from '../../cluster/louvain.js';
import { neighbourGraph } from '../../neighbors/graph.js';
import type { Rng } from '../../random.js';
import type { ComponentPlacement } from '../config.js';
import { mapRowBatches, type PreparedData } from '../data.js';
import { EVAL_CONTEXT } from '../layers.js';
import type { CgmvaeModule } from '../module.js';
import type { AdamW } from '../optimizer.js';

/** The placement partitions at most this many cells; the others join the nearest cluster mean. */
const PLACEMENT_CELLS = 20_000;

/** Louvain communities come from at most this many cells: at a fixed resolution their number grows with the cells partitioned, and K should not. */
const COMMUNITY_CELLS = 5_000;

/** Neighbours per cell of the placement's kNN graph (scanpy's default). */
const PLACEMENT_NEIGHBOURS = 15;

/** μ_z and σ²_z of q(z|x,c) (evaluation mode) for `rows`, row-major. */
function latentMoments(module: CgmvaeModule, data: PreparedData, rows: Int32Array): { mean: Float32Array; variance: Float32Array } {
  const nz = module.config.latentDim;
  const joined = mapRowBatches(data, rows, 2 * nz, (batch) => {
    const enc = module.encode(batch, EVAL_CONTEXT);
    return tf.concat([enc.muZ, tf.exp(enc.logvarZ)], 1);
  });
  const mean = new Float32Array(rows.length * nz);
  const variance = new Float32Array(rows.length * nz);
  for (let i = 0; i < rows.length; i++) {
    mean.set(joined.subarray(2 * i * nz, (2 * i + 1) * nz), i * nz);
    variance.set(joined.subarray((2 * i + 1) * nz, (2 * i + 2) * nz), i * nz);
  }
  return { mean, variance };
}

/** Communities of fewer cells than this (or than this share of the cells) join a neighbour rather than become components. */
const MIN_COMMUNITY_CELLS = 10;
const MIN_COMMUNITY_SHARE = 0.001;

/**
 * Clusters of the rows of `mean` ([n x nz]): the Louvain communities at `resolution` when it is given
 * (their number becomes K), else exactly K by `method`.
 */
function partitionLatents(mean: Float32Array, nz: number, k: number, method: ComponentPlacement, resolution: number | null, seed: number, signal?: AbortSignal): Int32Array {
  const n = mean.length / nz;
  const graph = () => neighbourGraph({ nRows: n, nCols: nz, data: mean }, PLACEMENT_NEIGHBOURS, { signal });
  if (resolution !== null) return communities(graph(), { resolution, minSize: Math.max(MIN_COMMUNITY_CELLS, Math.ceil(MIN_COMMUNITY_SHARE * n)), seed });
  if (method === 'kmeans') return kMeans(mean, nz, k, { seed }).labels;
  return partitionGraph(graph(), k, { seed });
}

/**
 * Place the components on a partition of the latent means of `rows` (at most PLACEMENT_CELLS of
 * them partitioned), each with the mean and variance of z over its cells (the spread of μ_z plus the
 * mean σ²_z: the law of total variance); with a resolution, the partition's communities set the number
 * of components first. Returns each cell's cluster (−1 for rows not in `rows`).
 */
function placeComponents(
  module: CgmvaeModule,
  optimizer: AdamW,
  data: PreparedData,
  rows: Int32Array,
  method: ComponentPlacement,
  resolution: number | null,
  rng: Rng,
  signal?: AbortSignal,
): { labels: Int32Array; sizes: Int32Array } {
  const { latentDim: nz } = module.config;
  const latent = latentMoments(module, data, rows);
  const partitioned = resolution === null ? PLACEMENT_CELLS : COMMUNITY_CELLS;
  const picked = rows.length > partitioned ? rng.shuffle(Int32Array.from({ length: rows.length }, (_, i) => i)).subarray(0, partitioned) : null;
  const sample = picked ? new Float32Array(picked.length * nz) : latent.mean;
  picked?.forEach((r, i) => sample.set(latent.mean.subarray(r * nz, (r + 1) * nz), i * nz));
  const sampleLabels = partitionLatents(sample, nz, module.config.nClusters, method, resolution, rng.int(), signal);
  const k = resolution === null ? module.config.nClusters : Math.max(...sampleLabels) + 1;
  if (k !== module.config.nClusters) {
    const { removed, added } = module.resizeComponents(k, rng);
    optimizer.replace(removed, added, module.params.kernels());
  }
  const cellLabels = new Int32Array(rows.length).fill(-1);
  if (picked) {
    picked.forEach((r, i) => (cellLabels[r] = sampleLabels[i]!));
    const centres = new Float64Array(k * nz);
    updateCentroids(sample, nz, sampleLabels, centres);
    cellLabels.forEach((m, i) => void (m < 0 && (cellLabels[i] = nearestCentroid(latent.mean, i, centres, nz, k))));
  } else cellLabels.set(sampleLabels);

  const labels = new Int32Array(data.nCells).fill(-1);
  const sizes = new Int32Array(k);
  const sum = new Float64Array(k * nz);
  const sumSq = new Float64Array(k * nz);
  rows.forEach((row, i) => {
    const m = cellLabels[i]!;
    labels[row] = m;
    sizes[m]++;
    for (let j = 0; j < nz; j++) {
      const mu = latent.mean[i * nz + j]!;
      sum[m * nz + j] += mu;
      sumSq[m * nz + j] += mu * mu + latent.variance[i * nz + j]!;
    }
  });
  // A cluster that no cell joins (k-means on fewer distinct points than K) sits at the origin with unit variance.
  const means = new Float64Array(k * nz);
  const variances = new Float64Array(k * nz).fill(1);
  for (let m = 0; m < k; m++) {
    if (sizes[m] === 0) continue;
    for (let j = 0; j < nz; j++) {
      means[m * nz + j] = sum[m * nz + j]! / sizes[m]!;
      variances[m * nz + j] = sumSq[m * nz + j]! / sizes[m]! - means[m * nz + j]! ** 2;
    }
  }
  optimizer.resetState(module.placeComponents(means, variances));
  return { labels, sizes };
}

export interface PlacementOptions {
  /** Place after this many epochs (0, or unsupervised data absent: never). */
  readonly componentInitEpochs: number;
  readonly componentPlacement: ComponentPlacement;
  /** Louvain resolution that chooses the number of components at the placement; null keeps it. */
  readonly resolution: number | null;
  readonly anchorShare: number;
  readonly epochs: number;
}

/** The placement's schedule and its anchor: which data each epoch trains on. */
export class PlacementSchedule {
  private anchor: PreparedData | null = null;
  private anchorEpochsLeft = 0;

  constructor(private readonly options: PlacementOptions, private readonly enabled: boolean) {}

  /** The placement's labels while anchored, else null (train on the data as given). */
  get anchoredData(): PreparedData | null {
    return this.anchor;
  }

  /** Whether the components are placed on Louvain communities (a chosen resolution, or the louvain placement) rather than on k-means clusters. */
  get placesOnCommunities(): boolean {
    return this.options.resolution !== null || this.options.componentPlacement === 'louvain';
  }

  /**
   * After a finite epoch: ends an anchor whose epochs are spent, and at the chosen epoch places the
   * components and starts the anchor. Returns a message when it placed them.
   */
  afterEpoch(epoch: number, module: CgmvaeModule, optimizer: AdamW, data: PreparedData, trainRows: Int32Array, rng: Rng, signal?: AbortSignal): string | null {
    if (this.anchor && --this.anchorEpochsLeft <= 0) this.anchor = null;
    const { componentInitEpochs, componentPlacement, resolution, anchorShare, epochs } = this.options;
    if (!this.enabled || componentInitEpochs <= 0 || epoch + 1 !== componentInitEpochs) return null;
    const placed = placeComponents(module, optimizer, data, trainRows, componentPlacement, resolution, rng, signal);
    this.anchor = { ...data, labelCodes: placed.labels, nClusters: placed.sizes.length };
    this.anchorEpochsLeft = Math.max(1, Math.round(anchorShare * (epochs - epoch - 1)));
    const partition = resolution === null ? `${componentPlacement} partition` : `Louvain partition at resolution ${resolution}`;
    return `epoch ${epoch}: ${placed.sizes.length} components placed on a ${partition} of the latent means (sizes ${placed.sizes.join(', ')}); training on it for ${this.anchorEpochsLeft} epochs`;
  }
}
