/** The contract between the pipeline and its shells (CLI, queue worker, tests). */

/** One progress event; `overall` is the fraction of the whole job (0..1). */
export interface PipelineProgress {
  stage: PipelineStage;
  fraction: number;
  overall: number;
  message: string;
  epoch?: number;
  loss?: number;
  etaSeconds?: number;
}

export type PipelineStage = 'read' | 'qc' | 'hvg' | 'fit' | 'latents' | 'umap' | 'markers' | 'write';

/** The files one run writes into its output folder. */
export const RESULT_FILES = {
  'cells.csv': 'text/csv; charset=utf-8',
  'result.h5ad': 'application/x-hdf5',
  'markers.csv': 'text/csv; charset=utf-8',
  'latent.csv': 'text/csv; charset=utf-8',
  'training.csv': 'text/csv; charset=utf-8',
  'umap.png': 'image/png',
  'loss.png': 'image/png',
  'manifest.json': 'application/json',
} as const;
export type ResultFileName = keyof typeof RESULT_FILES;

/** The UMAP coloured by one condition column: umap_<column>.png, the name made safe for a file. */
export function conditionUmapName(condition: string): string {
  return `umap_${condition.replace(/[^A-Za-z0-9_.-]/g, '_')}.png`;
}
const CONDITION_UMAP = /^umap_[A-Za-z0-9_.-]+\.png$/;

/** The content type of a result file a run may write, or undefined for any other name. */
export function resultContentType(name: string): string | undefined {
  if (Object.hasOwn(RESULT_FILES, name)) return RESULT_FILES[name as ResultFileName];
  return CONDITION_UMAP.test(name) ? 'image/png' : undefined;
}

export interface PipelineRunOptions {
  signal?: AbortSignal;
  onProgress?: (event: PipelineProgress) => void;
}
