/**
 * A job's status in the GA4GH WES vocabulary. Whether and how it ended comes from one place, the outcome
 * (written once, never changed: storage/job-files.ts); the queue's copy only tells the states before that (queued, running) and the
 * progress. Where the queue implies an end no worker wrote (a job failed by the stall limit, a canceled job it
 * no longer holds), the outcome is written here; a job the queue lost (Redis restarted empty) is queued again.
 */
import type { Job } from 'bullmq';
import { createHash } from 'node:crypto';
import { resultFileNames } from '../pipeline/result-files.js';
import type { StoredProgress } from '../queue/index.js';
import type { JobOutcome, JobRecord } from '../storage/index.js';
import type { ApiContext } from './context.js';

export const WES_STATES = ['QUEUED', 'INITIALIZING', 'RUNNING', 'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELING', 'CANCELED'] as const;
export type WesState = (typeof WES_STATES)[number];
export const TERMINAL_STATES = ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'] as const satisfies readonly WesState[];

export function isTerminal(state: WesState): boolean {
  return (TERMINAL_STATES as readonly WesState[]).includes(state);
}

export interface JobView {
  id: string;
  dataset_id: string;
  owner: string;
  state: WesState;
  params: Record<string, unknown>;
  progress: {
    stage: string;
    fraction: number;
    overall: number;
    message: string;
    epoch?: number;
    loss?: number;
    eta_seconds?: number;
    updated_at: string;
  } | null;
  attempts: { made: number; max: number };
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: { kind: string; message: string } | null;
  links: { self: string; cancel: string; events: string; dataset: string; results?: Record<string, string> };
}

interface QueueSide {
  state: string;
  job: Job;
}

/** The state of a job that has not ended, from the queue. */
function liveState(queued: QueueSide, progress: StoredProgress | undefined, cancelRequested: boolean): WesState {
  if (cancelRequested) return 'CANCELING';
  if (queued.state !== 'active') return 'QUEUED';
  return progress ? 'RUNNING' : 'INITIALIZING';
}

/**
 * The outcome the queue implies when no worker wrote one; undefined while the job has not ended. A job the queue
 * no longer holds ended if it was canceled, or if it is older than the queue keeps jobs (it cannot be lost work).
 */
function impliedOutcome(ctx: ApiContext, record: JobRecord, queued: QueueSide | undefined, cancelRequested: boolean): JobOutcome | undefined {
  const finished_at = new Date().toISOString();
  const attempts = queued?.job.attemptsStarted ?? 0;
  if (queued?.state === 'completed') return { state: 'COMPLETE', finished_at, attempts };
  if (queued?.state === 'failed') return { state: 'SYSTEM_ERROR', finished_at, attempts, error: { kind: 'Error', message: queued.job.failedReason || 'the job failed' } };
  if (queued) return undefined;
  if (cancelRequested) return { state: 'CANCELED', finished_at, attempts };
  if (Date.now() - Date.parse(record.created_at) > ctx.config.jobRetentionSeconds * 1000) {
    return { state: 'SYSTEM_ERROR', finished_at, attempts, error: { kind: 'LostJob', message: 'the job is no longer in the queue and no worker recorded how it ended' } };
  }
  return undefined;
}

/** Progress of the attempt the job is on (a retried job does not show its last attempt's), or the last of an ended job. */
function currentProgress(queued: QueueSide | undefined, ended: boolean): StoredProgress | undefined {
  const progress = queued?.job.progress;
  if (!progress || typeof progress !== 'object') return undefined;
  const stored = progress as unknown as StoredProgress;
  if (ended) return stored;
  return queued!.state === 'active' && stored.attempt === queued!.job.attemptsStarted ? stored : undefined;
}

/** Queues a job under its own id, so adding it twice is a no-op: at submission, and when the queue lost it (Redis restarted empty). */
export async function enqueue(ctx: ApiContext, record: JobRecord): Promise<void> {
  await ctx.queues[record.queue].add('analysis', { jobId: record.id, datasetId: record.dataset_id, owner: record.owner, params: record.params }, { jobId: record.id });
}

/** The condition columns of a job's resolved parameters, which name its per-condition UMAPs. */
function conditionKeysOf(record: JobRecord): string[] {
  const keys = record.params['condition_keys'];
  return Array.isArray(keys) ? keys.map(String) : [];
}

function iso(ms: number | undefined): string | null {
  return ms ? new Date(ms).toISOString() : null;
}

export async function describeJob(ctx: ApiContext, record: JobRecord): Promise<JobView> {
  const [stored, job, cancelFlag] = await Promise.all([
    ctx.storage.getOutcome(record.id),
    ctx.queues[record.queue].getJob(record.id),
    ctx.redis.exists(ctx.keys.cancel(record.id)),
  ]);
  const queueState = job ? await job.getState() : undefined;
  const queued = job && queueState && queueState !== 'unknown' ? { state: queueState, job } : undefined;
  let outcome = stored;
  if (!outcome) {
    const implied = impliedOutcome(ctx, record, queued, cancelFlag === 1);
    if (implied) outcome = await ctx.storage.setOutcome(record.id, implied);
    else if (!queued) await enqueue(ctx, record);
  }
  const progress = currentProgress(queued, outcome !== undefined);
  const state: WesState = outcome ? outcome.state : queued ? liveState(queued, progress, cancelFlag === 1) : 'QUEUED';
  const self = `/v1/jobs/${record.id}`;
  return {
    id: record.id,
    dataset_id: record.dataset_id,
    owner: record.owner,
    state,
    params: record.params,
    progress: progress
      ? {
          stage: progress.stage,
          fraction: progress.fraction,
          overall: progress.overall,
          message: progress.message,
          ...(progress.epoch !== undefined ? { epoch: progress.epoch } : {}),
          ...(progress.loss !== undefined ? { loss: progress.loss } : {}),
          ...(progress.etaSeconds !== undefined ? { eta_seconds: progress.etaSeconds } : {}),
          updated_at: progress.at,
        }
      : null,
    attempts: { made: outcome?.attempts ?? queued?.job.attemptsStarted ?? 0, max: queued?.job.opts.attempts ?? ctx.config.jobAttempts },
    created_at: record.created_at,
    started_at: iso(queued?.job.processedOn),
    finished_at: outcome?.finished_at ?? null,
    error: outcome?.error ?? null,
    links: {
      self,
      cancel: `${self}/cancel`,
      events: `${self}/events`,
      dataset: `/v1/datasets/${record.dataset_id}`,
      ...(state === 'COMPLETE'
        ? { results: Object.fromEntries(resultFileNames(conditionKeysOf(record)).map((name) => [name, `${self}/results/${name}`])) }
        : {}),
    },
  };
}

/** A strong validator of the JSON a client would receive, so a poller can ask "changed?" with If-None-Match. */
export function etagOf(view: JobView): string {
  return `"${createHash('sha256').update(JSON.stringify(view)).digest('base64url').slice(0, 27)}"`;
}
