/**
 * What fitModel needs, complete: the networks (`network`, saved with the model) and the training plan
 * (`training`). The product builds both from its parameters in src/pipeline/params.ts; the names are
 * the schema's in camelCase (n_clusters = nClusters, latent_dim = latentDim, ...).
 */
import type { Schedule } from './train/schedule.js';

export type Likelihood = 'mse' | 'gaussian' | 'bernoulli' | 'nb';
export const LIKELIHOODS: readonly Likelihood[] = ['mse', 'gaussian', 'bernoulli', 'nb'];

/**
 * How the component placement partitions the latent means: k-means on μ_z, or Louvain on the kNN graph
 * of μ_z (as scanpy and Seurat cluster cells), which follows curved and unequal clusters that k-means cuts.
 */
export type ComponentPlacement = 'kmeans' | 'louvain';
export const COMPONENT_PLACEMENTS: readonly ComponentPlacement[] = ['kmeans', 'louvain'];

export interface NetworkConfig {
  /** K, the number of mixture components (clusters): y takes K values. */
  readonly nClusters: number;
  /** Dimension of z, the latent space the clusters live in. */
  readonly latentDim: number;
  /** Dimension of w, the latent that places each cell's component means. */
  readonly wDim: number;
  /** Hidden widths of the encoder Qwz (the decoder Px mirrors them). */
  readonly hidden: readonly number[];
  /** Hidden widths of the latent networks Pz, Qy, Qd (and Pw). */
  readonly latentHidden: readonly number[];
  readonly dropout: number;
  readonly likelihood: Likelihood;
  /** Symmetric Dirichlet prior concentration α on the mixture weights. */
  readonly dirichletAlpha: number;
  /** q(y) smoothing ε: ε/K + (1−ε) q(y). */
  readonly yEpsilon: number;
  /** p(w|c) from a network of c instead of N(0, I); off by default (it lets conditions separate in w). */
  readonly learnedWPrior: boolean;
  /** Train q(y|·,c) and q(d|·,c) on μ_z instead of a z sample (the thesis' classify_with_mu), as prediction reads them. */
  readonly classifyWithMean: boolean;
  /** The encoder reads its input minus each condition category's mean, so a condition's shift does not reach z. */
  readonly centerByCondition: boolean;
}

/** The networks of one model: its NetworkConfig and the data's shape. */
export interface ModuleConfig extends NetworkConfig {
  readonly nInput: number;
  /** Number of categories of each condition covariate (one-hot each, concatenated). */
  readonly conditionSizes: readonly number[];
}

export interface TrainingConfig {
  readonly epochs: number;
  readonly schedule: Schedule;
  readonly batchSize: number;
  /** Decoupled weight decay on dense kernels. */
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
  /** Re-seed components that no cell picks, from the most crowded one (unsupervised; first 80 % of training). */
  readonly reviveComponents: boolean;
  /** Unsupervised: after this many epochs, place the components on a partition of the latent means (0: never). */
  readonly componentInitEpochs: number;
  readonly componentPlacement: ComponentPlacement;
  /** When set, the placement's partition is the Louvain communities at this resolution, and their number becomes nClusters. */
  readonly resolution: number | null;
  /** Share of the epochs after the placement that train on its labels (at least one epoch). */
  readonly anchorShare: number;
}

export interface FitConfig {
  readonly network: NetworkConfig;
  readonly training: TrainingConfig;
}

/** Settings the product's parameters leave to the model; bench/ varies some of them, and says so. */
export const FIXED_NETWORK = {
  latentHidden: [128],
  dropout: 0.1,
  yEpsilon: 1e-3,
  learnedWPrior: false,
  classifyWithMean: true,
} as const satisfies Partial<NetworkConfig>;

export const FIXED_TRAINING = {
  weightDecay: 1e-4,
  validationFraction: 0.1,
  patience: 20,
  minDelta: 0,
  maxNanRetries: 3,
  reviveComponents: true,
  anchorShare: 0.15,
} as const satisfies Partial<TrainingConfig>;

/** Refuses a training plan the loop cannot follow, naming the field. */
export function checkTrainingConfig(c: TrainingConfig): void {
  const positiveInts: [string, number][] = [['epochs', c.epochs], ['batchSize', c.batchSize]];
  for (const [name, v] of positiveInts) if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  if (!(c.validationFraction >= 0 && c.validationFraction < 1)) throw new Error(`validationFraction must be in [0, 1), got ${c.validationFraction}`);
  if (!COMPONENT_PLACEMENTS.includes(c.componentPlacement)) throw new Error(`unknown componentPlacement '${c.componentPlacement}' (one of ${COMPONENT_PLACEMENTS.join(', ')})`);
  if (!(c.anchorShare >= 0 && c.anchorShare <= 1)) throw new Error(`anchorShare must be in [0, 1], got ${c.anchorShare}`);
  if (c.resolution !== null && !(c.resolution > 0)) throw new Error(`resolution must be positive or null, got ${c.resolution}`);
}
