/** The contract between the pipeline and its shells (CLI, queue worker, tests). */
import type { IntegrationReport } from '../metrics/integration.js';
import type { SettledParams } from './params.js';

export type PipelineStage = 'read' | 'qc' | 'hvg' | 'fit' | 'latents' | 'integration' | 'umap' | 'markers' | 'write';

/** One progress event; `overall` is the fraction of the whole job (0..1). */
export interface PipelineProgress {
  stage: PipelineStage;
  fraction: number;
  overall: number;
  message: string;
  epoch?: number;
  loss?: number;
  etaSeconds?: number;
  /** Seconds left in the current stage, from its own pace (absent until it has gone on long enough to tell). */
  stageEtaSeconds?: number;
}

export interface PipelineRunOptions {
  signal?: AbortSignal;
  onProgress?: (event: PipelineProgress) => void;
}

export interface PipelineJob {
  /** A dataset file, folder or archive, in any format the reader knows. */
  readonly inputPath: string;
  /** Folder the results are written to (created if needed). */
  readonly outDir: string;
  /** Parameters as the user gave them; validated and completed with defaults. */
  readonly params: unknown;
}

/** What a finished run did, written as manifest.json beside the results. */
export interface PipelineManifest {
  readonly scgmdvae_version: string;
  readonly tfjs_version: string;
  readonly backend: string;
  readonly started_at: string;
  readonly finished_at: string;
  readonly input: { name: string; sha256: string; format: string; matrix: string; values: string; n_obs: number; n_vars: number };
  readonly params: SettledParams;
  readonly seed: number;
  readonly cells: { input: number; kept: number };
  readonly genes: { input: number; kept: number; highly_variable: number };
  readonly clusters: { count: number; names: string[]; sizes: number[] };
  readonly training: { epochs: number; best_epoch: number; stopped_early: boolean; nan_rollbacks: number };
  /** Cells the marker test read: every kept cell, or above MARKER_CELLS a sample of them (markers/sample.ts). */
  readonly markers: { cells: number };
  /** Batch mixing and label conservation in the latent space; null without conditions or labels. */
  readonly integration: IntegrationReport | null;
  readonly stage_seconds: Partial<Record<PipelineStage, number>>;
  readonly total_seconds: number;
  readonly peak_rss_mb: number;
  readonly warnings: string[];
  readonly outputs: string[];
}
