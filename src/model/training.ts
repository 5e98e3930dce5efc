/**
 * Training plan: AdamW, learning-rate schedule, mini-batches (labelled and unlabelled alternating in
 * semi-supervised mode), validation split with early stopping, per-epoch callback, AbortSignal,
 * and a NaN/Inf guard that rolls back to the last good weights and lowers the learning rate.
 */
import * as tf from '@tensorflow/tfjs';
import { disposeBatch, makeBatch, mapRowBatches, splitBatches, type PreparedData } from './data.js';
import { EVAL_CONTEXT, type ForwardContext } from './layers.js';
import { TERM_NAMES, type Batch, type CgmvaeModule, type TermName } from './module.js';
import { AdamW, Snapshot } from './optimizer.js';
import { GradientWorker } from './parallel.js';
import type { BackendName } from './backend.js';
import { Rng } from '../random.js';
import { kMeans, nearestCentroid, updateCentroids } from './kmeans.js';
import { neighbourGraph } from '../embed/umap.js';
import { partitionGraph } from '../cluster/louvain.js';

export type Schedule =
  /** `rates` in equal steps over `epochs` (the thesis' staircase); a step takes the extra epoch when they do not divide. */
  | { readonly kind: 'staircase'; readonly rates: readonly number[]; readonly epochs: number }
  | { readonly kind: 'constant'; readonly rate: number; readonly epochs: number }
  | { readonly kind: 'warmup'; readonly rate: number; readonly warmupEpochs: number; readonly epochs: number };

/** Factors of the step decay: the full rate, then 0.3 once the components are placed (a constant rate keeps moving between partitions). */
export const STEP_DECAY = [1, 0.3] as const;

/** The thesis' staircase. */
export const THESIS_RATES = [1e-5, 1e-4, 1e-3, 1e-3, 1e-3, 1e-4, 1e-5] as const;

export function scheduleEpochs(s: Schedule): number {
  return s.epochs;
}

export function learningRate(s: Schedule, epoch: number): number {
  switch (s.kind) {
    case 'staircase':
      return s.rates[Math.min(s.rates.length - 1, Math.floor((epoch * s.rates.length) / s.epochs))];
    case 'constant':
      return s.rate;
    case 'warmup':
      return epoch < s.warmupEpochs ? (s.rate * (epoch + 1)) / s.warmupEpochs : s.rate;
  }
}

export interface TrainingOptions {
  readonly schedule: Schedule;
  readonly batchSize: number;
  readonly weightDecay: number;
  /** Fraction of cells held out for the validation loss (0: none, no early stopping). */
  readonly validationFraction: number;
  /** Stop after this many epochs without a validation improvement (0: never). */
  readonly patience: number;
  /** A validation loss must drop by more than this to count as an improvement. */
  readonly minDelta: number;
  readonly seed: number;
  /** Learning-rate cuts (x0.1) tolerated after non-finite losses before giving up. */
  readonly maxNanRetries: number;
  /** Re-seed components that win fewer than DEAD_COMPONENT_SHARE / K of the cells (unsupervised only). */
  readonly reviveComponents: boolean;
  /** Split each step over this thread and a worker thread (see parallel.ts). */
  readonly twoCores: boolean;
  /** Unsupervised: after this many epochs, place the components on a partition of μ_z (0: never). */
  readonly componentInitEpochs: number;
  readonly componentPlacement: ComponentPlacement;
  /** Share of the epochs after the placement that train on its labels (at least one). */
  readonly anchorShare: number;
}

/** The placement partitions at most this many cells. */
const COMPONENT_INIT_CELLS = 20_000;

/** μ_z and σ²_z of q(z|x,c) (evaluation mode) for `rows`, row-major. */
function latentMoments(module: CgmvaeModule, data: PreparedData, rows: Int32Array): { mean: Float32Array; variance: Float32Array } {
  const nz = module.config.nz;
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

/**
 * How the placement partitions the latent means: k-means on μ_z, or Louvain on the kNN graph of μ_z
 * (as scanpy and Seurat cluster cells), which follows curved and unequal clusters that k-means cuts.
 */
export type ComponentPlacement = 'kmeans' | 'louvain';
export const COMPONENT_PLACEMENTS: readonly ComponentPlacement[] = ['kmeans', 'louvain'];

/** Neighbours per cell of the placement's kNN graph (scanpy's default). */
const PLACEMENT_NEIGHBOURS = 15;

/** K clusters of the rows of `mean` ([n x nz]). */
function partitionLatents(mean: Float32Array, nz: number, k: number, method: ComponentPlacement, seed: number, signal?: AbortSignal): Int32Array {
  if (method === 'kmeans') return kMeans(mean, nz, k, { seed }).labels;
  return partitionGraph(neighbourGraph({ nRows: mean.length / nz, nCols: nz, data: mean }, PLACEMENT_NEIGHBOURS, { signal }), k, { seed });
}

/**
 * Place the K components on a partition of the cells' latent means (at most COMPONENT_INIT_CELLS of
 * them; the others join the nearest cluster mean), each with the mean and variance of z over its
 * cells (the spread of μ_z plus the mean σ²_z: the law of total variance); returns each cell's
 * cluster (−1 for rows not in `rows`), which the next epochs train q(y) and q(d) towards.
 */
function placeComponentsOnClusters(
  module: CgmvaeModule,
  optimizer: AdamW,
  data: PreparedData,
  rows: Int32Array,
  method: ComponentPlacement,
  rng: Rng,
  signal?: AbortSignal,
): { labels: Int32Array; sizes: Int32Array } {
  const { nz, nComponents: k } = module.config;
  const latent = latentMoments(module, data, rows);
  const picked = rows.length > COMPONENT_INIT_CELLS ? rng.shuffle(Int32Array.from({ length: rows.length }, (_, i) => i)).subarray(0, COMPONENT_INIT_CELLS) : null;
  const sample = picked ? new Float32Array(picked.length * nz) : latent.mean;
  picked?.forEach((r, i) => sample.set(latent.mean.subarray(r * nz, (r + 1) * nz), i * nz));
  const sampleLabels = partitionLatents(sample, nz, k, method, rng.int(), signal);
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

/** Components are revived during this fraction of the epochs (through the placement's settling, not the last epochs). */
const REVIVE_UNTIL = 0.8;

/** A component used by less than this share of an even split counts as unused. */
export const DEAD_COMPONENT_SHARE = 0.05;

/** Split the most used components into the unused ones; returns the re-seeded indices. */
function reviveComponents(module: CgmvaeModule, usage: number[], rng: Rng): number[] {
  const k = usage.length;
  const share = usage.slice();
  const dead = share.map((u, i) => (u < DEAD_COMPONENT_SHARE / k ? i : -1)).filter((i) => i >= 0);
  for (const d of dead) {
    const donor = share.indexOf(Math.max(...share));
    module.splitComponent(d, donor, rng);
    share[d] = share[donor] /= 2;
  }
  return dead;
}

export type TermValues = Record<TermName, number> & { total: number };

export interface EpochReport {
  readonly epoch: number;
  readonly learningRate: number;
  readonly train: TermValues;
  readonly validation: TermValues | null;
  /** Share of the epoch's cells whose most probable component is k. */
  readonly clusterUsage: number[];
  /** Components re-seeded after this epoch (unsupervised, first 80 % of training). */
  readonly revived: number[];
  readonly seconds: number;
  readonly steps: number;
}

export interface TrainCallbacks {
  readonly signal?: AbortSignal;
  readonly onEpoch?: (report: EpochReport) => void | Promise<void>;
  readonly log?: (message: string) => void;
}

export interface TrainingResult {
  readonly history: EpochReport[];
  readonly stoppedEarly: boolean;
  /** Epoch whose weights were kept (best validation loss, or the last epoch). */
  readonly bestEpoch: number;
  readonly nanRollbacks: number;
  readonly seconds: number;
}

export class TrainingDivergedError extends Error {
  override readonly name = 'TrainingDivergedError';
}

/**
 * Sums over the batch of each term, then the number of cells whose most probable component is k:
 * one [5 + K] tensor (a single sync per epoch).
 */
function termSums(module: CgmvaeModule, batch: Batch, ctx: ForwardContext): tf.Tensor1D {
  const terms = module.lossTerms(batch, ctx);
  const winners = tf.oneHot(tf.argMax(terms.clusterProbs, 1), module.config.nComponents).toFloat();
  return tf.concat([tf.stack(TERM_NAMES.map((n) => tf.sum(terms[n]))), tf.sum(winners, 0)]) as tf.Tensor1D;
}

function toTermValues(sums: ArrayLike<number>, n: number): TermValues {
  const out = { total: 0 } as TermValues;
  TERM_NAMES.forEach((name, i) => {
    out[name] = sums[i] / n;
    out.total += sums[i] / n;
  });
  return out;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('training aborted', 'AbortError');
}

/** Mean −ELBO terms over `rows` in evaluation mode (fixed noise seed so epochs are comparable). */
export function evaluateLoss(module: CgmvaeModule, data: PreparedData, rows: Int32Array, batchSize: number, seed: number): TermValues {
  const total = new Float64Array(TERM_NAMES.length + module.config.nComponents);
  for (const part of splitBatches(rows, batchSize)) {
    const batch = makeBatch(data, part, true);
    const sumsTensor = tf.tidy(() => termSums(module, batch, { training: false, seed, bnUpdates: [] }));
    const sums = sumsTensor.dataSync();
    tf.dispose([sumsTensor]);
    disposeBatch(batch);
    sums.forEach((v, i) => (total[i] += v));
  }
  return toTermValues(total, rows.length);
}

export async function train(module: CgmvaeModule, data: PreparedData, options: TrainingOptions, callbacks: TrainCallbacks = {}): Promise<TrainingResult> {
  const started = performance.now();
  const { signal, onEpoch } = callbacks;
  const rng = new Rng(options.seed ^ 0x5bd1e995);
  const order = rng.shuffle(Int32Array.from({ length: data.nCells }, (_, i) => i));
  const nVal = options.validationFraction > 0 ? Math.min(data.nCells - 1, Math.round(data.nCells * options.validationFraction)) : 0;
  const valRows = order.slice(0, nVal);
  const trainRows = order.slice(nVal);
  const labelled = data.labelCodes ? trainRows.filter((r) => data.labelCodes![r] >= 0) : new Int32Array(0);
  const unlabelled = data.labelCodes ? trainRows.filter((r) => data.labelCodes![r] < 0) : trainRows;

  const worker = options.twoCores ? await GradientWorker.start(module, data, tf.getBackend() as BackendName) : null;
  const trainable = [...module.params.trainable.values()];
  const kernels = new Set([...module.params.trainable].filter(([k]) => k.endsWith('/W')).map(([, v]) => v));
  const optimizer = new AdamW(trainable, kernels, { weightDecay: options.weightDecay });
  const snapshotVars = [...module.params.all().values(), ...optimizer.stateVariables()];

  const history: EpochReport[] = [];
  const totalEpochs = scheduleEpochs(options.schedule);
  let lastGood = Snapshot.take(snapshotVars, 0);
  let best: { snapshot: Snapshot; epoch: number; loss: number } | null = null;
  let sinceBest = 0;
  let lrScale = 1;
  let nanRollbacks = 0;
  let stoppedEarly = false;
  // After a placement, training follows its labels for a share of the remaining epochs, so that q(y|z) and q(d|z), restarted from uniform, learn the moved components.
  let anchor: PreparedData | null = null;
  let anchorEpochsLeft = 0;

  try {
    for (let epoch = 0; epoch < totalEpochs; ) {
      const epochStart = performance.now();
      const lr = learningRate(options.schedule, epoch) * lrScale;
      const epochData = anchor ?? data;
      const batches = anchor ? epochBatches(rng, trainRows, new Int32Array(0), options.batchSize) : epochBatches(rng, labelled, unlabelled, options.batchSize);
      let accumulated: tf.Tensor1D = tf.zeros([TERM_NAMES.length + module.config.nComponents]);
      let cells = 0;
      for (const rows of batches) {
        if (signal?.aborted) {
          accumulated.dispose();
          throw abortError(signal);
        }
        const seed = rng.int();
        let sums: tf.Tensor1D;
        if (worker && !anchor && rows.length >= 4) sums = await twoCoreStep(module, optimizer, worker, data, rows, seed, lr);
        else {
          const batch = makeBatch(epochData, rows, true);
          sums = trainStep(module, optimizer, batch, seed, lr);
          disposeBatch(batch);
        }
        const next = tf.add(accumulated, sums) as tf.Tensor1D;
        tf.dispose([accumulated, sums]);
        accumulated = next;
        cells += rows.length;
        // Let abort events and other callbacks run between steps.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const epochSums = await accumulated.data();
      accumulated.dispose();
      const train = toTermValues(epochSums, cells);

      if (!Number.isFinite(train.total)) {
        nanRollbacks++;
        lastGood.restore();
        optimizer.stepCount = lastGood.stepCount;
        if (nanRollbacks > options.maxNanRetries) {
          throw new TrainingDivergedError(`training diverged: non-finite loss at epoch ${epoch} after ${options.maxNanRetries} learning-rate cuts (last rate ${lr})`);
        }
        lrScale *= 0.1;
        callbacks.log?.(`scgmdvae: non-finite loss at epoch ${epoch}; rolled back, learning rate x${lrScale}`);
        continue;
      }
      if (anchor && --anchorEpochsLeft <= 0) anchor = null;
      if (options.componentInitEpochs > 0 && epoch + 1 === options.componentInitEpochs && !data.labelCodes) {
        const placed = placeComponentsOnClusters(module, optimizer, data, trainRows, options.componentPlacement, rng, signal);
        anchor = { ...data, labelCodes: placed.labels };
        anchorEpochsLeft = Math.max(1, Math.round(options.anchorShare * (totalEpochs - epoch - 1)));
        callbacks.log?.(`scgmdvae: epoch ${epoch}: components placed on a ${options.componentPlacement} partition of the latent means (sizes ${placed.sizes.join(', ')}); training on it for ${anchorEpochsLeft} epochs`);
        // Validation losses from before the placement are not comparable.
        best?.snapshot.dispose();
        best = null;
        sinceBest = 0;
      }
      const usage = Array.from(epochSums.subarray(TERM_NAMES.length), (v) => v / cells);
      const revived = options.reviveComponents && !data.labelCodes && epoch < totalEpochs * REVIVE_UNTIL ? reviveComponents(module, usage, rng) : [];
      if (revived.length) callbacks.log?.(`scgmdvae: epoch ${epoch}: re-seeded unused components ${revived.join(', ')}`);
      lastGood.dispose();
      lastGood = Snapshot.take(snapshotVars, optimizer.stepCount);

      const validation = nVal > 0 ? evaluateLoss(module, data, valRows, Math.max(options.batchSize, 512), options.seed) : null;
      const report: EpochReport = { epoch, learningRate: lr, train, validation, clusterUsage: usage, revived, seconds: (performance.now() - epochStart) / 1000, steps: batches.length };
      history.push(report);

      if (validation && Number.isFinite(validation.total)) {
        if (!best || validation.total < best.loss - options.minDelta) {
          best?.snapshot.dispose();
          best = { snapshot: Snapshot.take(snapshotVars, optimizer.stepCount), epoch, loss: validation.total };
          sinceBest = 0;
        } else if (options.patience > 0 && ++sinceBest >= options.patience) {
          stoppedEarly = true;
        }
      }
      await onEpoch?.(report);
      if (stoppedEarly) break;
      epoch++;
    }
    if (best) best.snapshot.restore();
  } finally {
    lastGood.dispose();
    best?.snapshot.dispose();
    optimizer.dispose();
    await worker?.terminate();
  }
  return {
    history,
    stoppedEarly,
    bestEpoch: best?.epoch ?? history.length - 1,
    nanRollbacks,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * One epoch's batches. With both labelled and unlabelled cells, batches alternate between the two
 * sets, the smaller one cycling, so the supervised signal is present throughout the epoch.
 */
function epochBatches(rng: Rng, labelled: Int32Array, unlabelled: Int32Array, batchSize: number): Int32Array[] {
  const lab = splitBatches(rng.shuffle(labelled.slice()), batchSize);
  const unl = splitBatches(rng.shuffle(unlabelled.slice()), batchSize);
  if (lab.length === 0 || unl.length === 0) return lab.length ? lab : unl;
  const out: Int32Array[] = [];
  for (let i = 0; i < Math.max(lab.length, unl.length); i++) out.push(unl[i % unl.length], lab[i % lab.length]);
  return out;
}

/** Gradients of the batch's mean −ELBO, and the per-term sums (kept). */
export function lossWithSums(module: CgmvaeModule, batch: Batch, ctx: ForwardContext): { grads: tf.NamedTensorMap; sums: tf.Tensor1D } {
  let sums: tf.Tensor1D | undefined;
  const { value, grads } = tf.variableGrads(() => {
    sums = tf.keep(termSums(module, batch, ctx));
    return tf.div(tf.sum(sums.slice(0, TERM_NAMES.length)), batch.x.shape[0]) as tf.Scalar;
  }, [...module.params.trainable.values()]);
  value.dispose();
  return { grads, sums: sums! };
}

function applyBatchNormUpdates(ctx: ForwardContext): void {
  for (const u of ctx.bnUpdates) {
    u.variable.assign(u.value);
    u.value.dispose();
  }
}

/** One AdamW step; returns the per-term sums over the batch. */
function trainStep(module: CgmvaeModule, optimizer: AdamW, batch: Batch, seed: number, lr: number): tf.Tensor1D {
  const ctx: ForwardContext = { training: true, seed, bnUpdates: [] };
  const { grads, sums } = lossWithSums(module, batch, ctx);
  optimizer.step(grads, lr);
  applyBatchNormUpdates(ctx);
  tf.dispose(Object.values(grads));
  return sums;
}

/**
 * The same step split over two threads: the worker takes the first half of the rows, this thread the
 * second; gradients are averaged by half size. Batch-norm moving statistics follow this thread's half.
 */
async function twoCoreStep(module: CgmvaeModule, optimizer: AdamW, worker: GradientWorker, data: PreparedData, rows: Int32Array, seed: number, lr: number): Promise<tf.Tensor1D> {
  const half = rows.length >> 1;
  const pending = worker.compute(module, rows.slice(0, half), (seed ^ 0x68bc21eb) >>> 0);
  const batch = makeBatch(data, rows.subarray(half), true);
  const ctx: ForwardContext = { training: true, seed, bnUpdates: [] };
  const { grads, sums } = lossWithSums(module, batch, ctx);
  disposeBatch(batch);
  const workerSums = await pending;
  const [wWorker, wMain] = [half / rows.length, (rows.length - half) / rows.length];
  const combined = tf.tidy(() => {
    const out: tf.NamedTensorMap = {};
    for (const [key, v] of module.params.trainable) {
      const mine = grads[v.name];
      if (mine) out[v.name] = tf.keep(tf.add(tf.mul(mine, wMain), tf.mul(worker.gradient(key), wWorker)));
    }
    return out;
  });
  optimizer.step(combined, lr);
  applyBatchNormUpdates(ctx);
  tf.dispose([...Object.values(grads), ...Object.values(combined)]);
  const total = tf.tidy(() => tf.add(sums, tf.tensor1d(workerSums))) as tf.Tensor1D;
  sums.dispose();
  return total;
}
