import type { PipelineProgress, PipelineStage } from './types.js';

/** A stage's own ETA needs this much of it done and this many seconds spent: earlier paces mislead. */
const STAGE_ETA_MIN_FRACTION = 0.02;
const STAGE_ETA_MIN_SECONDS = 1;

/** Share of a typical run's wall time spent in each stage, for `overall` and the ETA. */
const STAGE_WEIGHTS: Record<PipelineStage, number> = {
  read: 0.04,
  qc: 0.02,
  hvg: 0.02,
  fit: 0.7,
  latents: 0.02,
  integration: 0.02,
  umap: 0.12,
  markers: 0.04,
  write: 0.02,
};
const STAGES = Object.keys(STAGE_WEIGHTS) as PipelineStage[];

/** A run's stages: enters each (checking for cancellation), times it for the manifest, and turns stage-local fractions into whole-job progress with an ETA. */
export class StageTracker {
  readonly seconds: Partial<Record<PipelineStage, number>> = {};
  readonly startedAt = performance.now();
  private current?: { stage: PipelineStage; since: number };

  constructor(private readonly emit: (event: PipelineProgress) => void = () => {}, private readonly signal?: AbortSignal) {}

  enter(stage: PipelineStage, message: string): void {
    this.signal?.throwIfAborted();
    this.leave();
    this.current = { stage, since: performance.now() };
    this.report(stage, 0, message);
  }

  /** Stops the current stage's clock. */
  leave(): void {
    if (this.current) this.seconds[this.current.stage] = (this.seconds[this.current.stage] ?? 0) + (performance.now() - this.current.since) / 1000;
    this.current = undefined;
  }

  report(stage: PipelineStage, fraction: number, message: string, extra: Pick<PipelineProgress, 'epoch' | 'loss'> = {}): void {
    const done = STAGES.slice(0, STAGES.indexOf(stage)).reduce((sum, s) => sum + STAGE_WEIGHTS[s], 0);
    const clamped = Math.min(1, Math.max(0, fraction));
    const overall = Math.min(1, done + STAGE_WEIGHTS[stage] * clamped);
    const elapsed = (performance.now() - this.startedAt) / 1000;
    const etaSeconds = overall > 0.01 ? (elapsed * (1 - overall)) / overall : undefined;
    const inStage = this.current?.stage === stage ? (performance.now() - this.current.since) / 1000 : 0;
    const stageEtaSeconds = clamped >= STAGE_ETA_MIN_FRACTION && inStage >= STAGE_ETA_MIN_SECONDS ? (inStage * (1 - clamped)) / clamped : undefined;
    this.emit({
      stage, fraction: clamped, overall, message, ...extra,
      ...(etaSeconds === undefined ? {} : { etaSeconds: Math.round(etaSeconds) }),
      ...(stageEtaSeconds === undefined ? {} : { stageEtaSeconds: Math.round(stageEtaSeconds) }),
    });
  }
}
