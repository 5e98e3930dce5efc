/**
 * The pipeline's parameters: the schema (schemas/pipeline-params.schema.json, the one source of the
 * product's defaults), their resolved type, and the one translation from their snake_case names to the
 * options of each stage (reader, preprocessing, model, UMAP, markers).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { InputError } from '../errors.js';
import type { ReadOptions, ValuesKind } from '../io/index.js';
import type { UmapOptions } from '../embed/umap.js';
import type { WilcoxonOptions } from '../markers/wilcoxon.js';
import { FIXED_NETWORK, FIXED_TRAINING, namedSchedule, type FitConfig } from '../model/index.js';
import type { ComponentPlacement, Likelihood as ModelLikelihood, ScheduleName } from '../model/index.js';
import { packageRoot } from '../paths.js';
import type { PreprocessOptions } from '../preprocess/index.js';

/** The resolved parameters of one job; checked against the schema by test. */
export interface PipelineParams {
  layer: string | null;
  genome: string | null;
  min_genes: number | null;
  max_genes: number | null;
  min_counts: number | null;
  max_counts: number | null;
  max_pct_mito: number | null;
  min_cells: number | null;
  target_sum: number | 'median';
  exclude_highly_expressed: boolean;
  max_fraction: number;
  log_base: number | null;
  flavor: 'seurat' | 'cell_ranger' | 'seurat_v3' | 'seurat_v3_paper';
  n_top_genes: number | null;
  min_mean: number;
  max_mean: number;
  min_disp: number;
  max_disp: number | null;
  n_bins: number;
  span: number;
  batch_key: string | null;
  n_clusters: number | 'auto';
  resolution: number;
  latent_dim: number;
  w_dim: number;
  hidden: number[];
  likelihood: 'auto' | Likelihood;
  scale: boolean;
  condition_keys: string[];
  center_by_condition: boolean;
  label_key: string | null;
  dirichlet_alpha: number;
  epochs: number | null;
  schedule: ScheduleName;
  component_init_epochs: number | null;
  component_placement: 'auto' | ComponentPlacement;
  learning_rate: number;
  batch_size: number | null;
  seed: number;
  n_neighbors: number;
  min_dist: number;
  spread: number;
  markers_n: number;
}

/** The likelihoods the schema offers (bernoulli is the model's, for binary data, not the pipeline's). */
type Likelihood = Exclude<ModelLikelihood, 'bernoulli'>;

/** The parameters as a run settles them: the training length fixed for the cells kept, and what "auto" chose. */
export type SettledParams = Omit<PipelineParams, 'likelihood' | 'component_placement'> & {
  epochs: number;
  batch_size: number;
  component_init_epochs: number;
  likelihood: Likelihood;
  component_placement: ComponentPlacement;
};

export const pipelineParamsSchema = JSON.parse(
  readFileSync(join(packageRoot, 'schemas', 'pipeline-params.schema.json'), 'utf8'),
) as Record<string, unknown> & { properties: Record<string, { type?: string | string[]; default?: unknown; enum?: unknown[] }> };

/** Parameters that fail the schema; `problems` name each offending key. */
export class ParamsError extends InputError {
  override readonly name = 'ParamsError';
  constructor(readonly problems: string[]) {
    super(`invalid parameters: ${problems.join('; ')}`);
  }
}

const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: false });
const validate = ajv.compile(pipelineParamsSchema);

function describe(error: ErrorObject): string {
  if (error.keyword === 'additionalProperties') {
    return `unknown parameter "${(error.params as { additionalProperty: string }).additionalProperty}"`;
  }
  const key = error.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(params)';
  return `"${key}" ${error.message ?? 'is invalid'}`;
}

/** Validates user parameters and fills in every default; throws ParamsError naming the keys. */
export function resolveParams(input: unknown): PipelineParams {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ParamsError(['parameters must be a JSON object']);
  }
  const params = structuredClone(input) as Record<string, unknown>;
  // JSON's 1e400 parses as Infinity, which the schema's "number" lets through.
  const finite = (value: unknown) => typeof value !== 'number' || Number.isFinite(value);
  const infinite = Object.keys(params).filter((key) => ![params[key]].flat().every(finite));
  if (infinite.length > 0) throw new ParamsError(infinite.map((key) => `"${key}" must be a finite number`));
  if (!validate(params)) throw new ParamsError((validate.errors ?? []).map(describe));
  return params as unknown as PipelineParams;
}

/** The batch key HVG selection uses: the given one, else the first condition, so genes that differ only between conditions do not lead the selection. */
function effectiveBatchKey(params: PipelineParams): string | null {
  return params.batch_key ?? params.condition_keys[0] ?? null;
}

/** Cell passes that `epochs: null` aims for (a small file needs more epochs for the same number of steps). */
const AUTO_CELL_PASSES = 55_000;
const AUTO_EPOCHS: [number, number] = [20, 400];
/** Above this many training cells, `epochs: null` stops at LARGE_CELL_PASSES and `batch_size: null` grows. */
const LARGE_DATA_CELLS = 20_000;
const LARGE_CELL_PASSES = AUTO_EPOCHS[0] * LARGE_DATA_CELLS;
const LARGE_MIN_EPOCHS = 3;
const AUTO_BATCH: [number, number] = [64, 1024];

/** `epochs: null`: scvi-tools' scaling for small files; for large ones, a fixed budget of cell passes. */
function autoEpochs(nCells: number): number {
  if (nCells > LARGE_DATA_CELLS) return Math.max(LARGE_MIN_EPOCHS, Math.round(LARGE_CELL_PASSES / nCells));
  return Math.min(AUTO_EPOCHS[1], Math.max(AUTO_EPOCHS[0], Math.round(AUTO_CELL_PASSES / Math.max(1, nCells))));
}

/** `batch_size: null`: 64, doubled each time the cells double beyond LARGE_DATA_CELLS, at most 1024. */
function autoBatchSize(nCells: number): number {
  const doublings = Math.max(0, Math.ceil(Math.log2(nCells / LARGE_DATA_CELLS)));
  return Math.min(AUTO_BATCH[1], AUTO_BATCH[0] * 2 ** doublings);
}

/**
 * Fills in what the parameters leave to the run, for `nCells` training cells whose matrix holds `values`: the epochs
 * and the batch size, the component placement's epoch, and with conditions ("auto") a negative binomial on counts, whose library sizes
 * explain depth that differs by batch, and a Louvain placement, which keeps a rare type's component.
 */
export function settleParams(params: PipelineParams, nCells: number, values: ValuesKind): SettledParams {
  // label_key's categories set K, whatever n_clusters says.
  if (typeof params.n_clusters === 'number' && params.label_key === null && params.n_clusters > nCells) {
    throw new ParamsError([`"n_clusters" is ${params.n_clusters}, more than the ${nCells} cells left after QC: ask for at most ${nCells} clusters, or "auto"`]);
  }
  const epochs = params.epochs ?? autoEpochs(nCells);
  const conditional = params.condition_keys.length > 0;
  return {
    ...params,
    batch_key: effectiveBatchKey(params),
    epochs,
    batch_size: params.batch_size ?? autoBatchSize(nCells),
    component_init_epochs: params.component_init_epochs ?? Math.floor(epochs / 2),
    likelihood: params.likelihood !== 'auto' ? params.likelihood : conditional && values === 'counts' ? 'nb' : 'mse',
    component_placement: params.component_placement !== 'auto' ? params.component_placement : conditional ? 'louvain' : 'kmeans',
  };
}

const orUndefined = <T>(value: T | null): T | undefined => value ?? undefined;

export function readOptions(params: PipelineParams): ReadOptions {
  return { layer: orUndefined(params.layer), genome: orUndefined(params.genome) };
}

/** The parameters readOptions and preprocessOptions read (condition_keys aside, which only stands in for batch_key): the preprocess command's. */
export const PREPROCESS_KEYS = [
  'layer', 'genome', 'min_genes', 'max_genes', 'min_counts', 'max_counts', 'max_pct_mito', 'min_cells', 'target_sum', 'exclude_highly_expressed',
  'max_fraction', 'log_base', 'flavor', 'n_top_genes', 'min_mean', 'max_mean', 'min_disp', 'max_disp', 'n_bins', 'span', 'batch_key',
] as const satisfies readonly (keyof PipelineParams)[];

export function preprocessOptions(params: PipelineParams): PreprocessOptions {
  return {
    minGenes: orUndefined(params.min_genes),
    maxGenes: orUndefined(params.max_genes),
    minCounts: orUndefined(params.min_counts),
    maxCounts: orUndefined(params.max_counts),
    maxPctMito: orUndefined(params.max_pct_mito),
    minCells: orUndefined(params.min_cells),
    targetSum: params.target_sum,
    excludeHighlyExpressed: params.exclude_highly_expressed,
    maxFraction: params.max_fraction,
    logBase: orUndefined(params.log_base),
    flavor: params.flavor,
    nTopGenes: orUndefined(params.n_top_genes),
    minMean: params.min_mean,
    maxMean: params.max_mean,
    minDisp: params.min_disp,
    maxDisp: params.max_disp ?? Infinity,
    nBins: params.n_bins,
    span: params.span,
    batchKey: orUndefined(effectiveBatchKey(params)),
  };
}

/** Components the warm-up trains when n_clusters is 'auto', before the placement sets their number. */
const AUTO_WARMUP_CLUSTERS = 10;

/**
 * The model and its training plan. K is n_clusters, or the label's `labelCategories` when labels are
 * given; with 'auto', the placement's Louvain communities at `resolution` choose it.
 */
export function fitConfig(params: SettledParams, labelCategories: number | null): FitConfig {
  const auto = params.n_clusters === 'auto' && labelCategories === null;
  const nClusters = labelCategories ?? (params.n_clusters === 'auto' ? AUTO_WARMUP_CLUSTERS : params.n_clusters);
  return {
    network: {
      ...FIXED_NETWORK,
      nClusters,
      latentDim: params.latent_dim,
      wDim: params.w_dim,
      hidden: params.hidden,
      likelihood: params.likelihood,
      dirichletAlpha: params.dirichlet_alpha,
      centerByCondition: params.center_by_condition,
    },
    training: {
      ...FIXED_TRAINING,
      epochs: params.epochs,
      schedule: namedSchedule(params.schedule, params.learning_rate, params.epochs),
      batchSize: params.batch_size,
      seed: params.seed,
      componentInitEpochs: params.component_init_epochs,
      componentPlacement: params.component_placement,
      resolution: auto ? params.resolution : null,
    },
  };
}

export function umapOptions(params: PipelineParams): UmapOptions {
  return { nNeighbors: params.n_neighbors, minDist: params.min_dist, spread: params.spread, seed: params.seed };
}

export function markerOptions(params: PipelineParams): WilcoxonOptions {
  return { nTop: params.markers_n, logBase: orUndefined(params.log_base) };
}
