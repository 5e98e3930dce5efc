import type { PipelineProgress, PipelineStage } from './types.js';

/** Share of a typical run's wall time spent in each stage (measured on pbmc3k), for `overall` and the ETA. */
const STAGE_WEIGHTS: Record<PipelineStage, number> = {
  read: 0.04,
  qc: 0.02,
  hvg: 0.02,
  fit: 0.72,
  latents: 0.02,
  umap: 0.12,
  markers: 0.04,
  write: 0.02,
};
const STAGES = Object.keys(STAGE_WEIGHTS) as PipelineStage[];

/** Turns stage-local fractions into whole-job progress events with an ETA. */
export class ProgressTracker {
  private readonly started = performance.now();

  constructor(private readonly emit: (event: PipelineProgress) => void = () => {}) {}

  report(stage: PipelineStage, fraction: number, message: string, extra: Pick<PipelineProgress, 'epoch' | 'loss'> = {}): void {
    const done = STAGES.slice(0, STAGES.indexOf(stage)).reduce((sum, s) => sum + STAGE_WEIGHTS[s], 0);
    const clamped = Math.min(1, Math.max(0, fraction));
    const overall = Math.min(1, done + STAGE_WEIGHTS[stage] * clamped);
    const elapsed = (performance.now() - this.started) / 1000;
    const etaSeconds = overall > 0.01 ? (elapsed * (1 - overall)) / overall : undefined;
    this.emit({ stage, fraction: clamped, overall, message, ...extra, ...(etaSeconds === undefined ? {} : { etaSeconds: Math.round(etaSeconds) }) });
  }
}
