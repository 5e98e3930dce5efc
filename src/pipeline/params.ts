import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { InputError } from '../errors.js';
import { packageRoot } from '../paths.js';

/** The resolved parameters of one job; checked against schemas/pipeline-params.schema.json by test. */
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
  flavor: 'seurat' | 'cell_ranger' | 'seurat_v3' | 'seurat_v3_paper';
  n_top_genes: number;
  batch_key: string | null;
  n_clusters: number;
  latent_dim: number;
  w_dim: number;
  hidden: number[];
  likelihood: 'mse' | 'gaussian' | 'nb';
  scale: boolean;
  condition_keys: string[];
  label_key: string | null;
  dirichlet_alpha: number;
  epochs: number | null;
  schedule: 'step_decay' | 'staircase' | 'constant' | 'warmup';
  component_init_epochs: number | null;
  component_placement: 'kmeans' | 'louvain';
  learning_rate: number;
  batch_size: number;
  seed: number;
  n_neighbors: number;
  min_dist: number;
  spread: number;
  markers_n: number;
}

export const pipelineParamsSchema = JSON.parse(
  readFileSync(join(packageRoot, 'schemas', 'pipeline-params.schema.json'), 'utf8'),
) as Record<string, unknown> & { properties: Record<string, { type?: string | string[] }> };

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
  if (!validate(params)) throw new ParamsError((validate.errors ?? []).map(describe));
  return params as unknown as PipelineParams;
}
