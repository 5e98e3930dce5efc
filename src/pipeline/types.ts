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

export type PipelineStage = 'read' | 'qc' | 'normalize' | 'hvg' | 'fit' | 'latents' | 'umap' | 'markers' | 'write';

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

export interface PipelineRunOptions {
  signal?: AbortSignal;
  onProgress?: (event: PipelineProgress) => void;
}
