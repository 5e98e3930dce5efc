/**
 * A job's status in the GA4GH WES vocabulary, from three sources: the job record (always there), the queue's
 * copy (until the retention time ends) and the outcome the worker wrote (once it finished).
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

function stateOf(queued: QueueSide | undefined, outcome: JobOutcome | undefined, cancelRequested: boolean): WesState {
  if (!queued) return outcome?.state ?? (cancelRequested ? 'CANCELED' : 'SYSTEM_ERROR');
  switch (queued.state) {
    case 'completed':
      return 'COMPLETE';
    case 'failed':
      return outcome && outcome.state !== 'COMPLETE' ? outcome.state : 'SYSTEM_ERROR';
    case 'active':
      if (cancelRequested) return 'CANCELING';
      return typeof queued.job.progress === 'object' ? 'RUNNING' : 'INITIALIZING';
    default:
      return cancelRequested ? 'CANCELING' : 'QUEUED';
  }
}

function errorOf(state: WesState, queued: QueueSide | undefined, outcome: JobOutcome | undefined): JobView['error'] {
  if (state !== 'EXECUTOR_ERROR' && state !== 'SYSTEM_ERROR') return null;
  if (outcome?.error) return outcome.error;
  if (queued?.job.failedReason) return { kind: 'Error', message: queued.job.failedReason };
  return { kind: 'LostJob', message: 'the job is no longer in the queue and no worker recorded how it ended' };
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
  const [job, cancelFlag] = await Promise.all([ctx.queues[record.queue].getJob(record.id), ctx.redis.exists(ctx.keys.cancel(record.id))]);
  const queueState = job ? await job.getState() : undefined;
  const queued = job && queueState && queueState !== 'unknown' ? { state: queueState, job } : undefined;
  // Only a finished job has an outcome worth reading; polls of running jobs skip the file.
  const outcome = !queued || queued.state === 'failed' || queued.state === 'completed' ? await ctx.storage.getOutcome(record.id) : undefined;
  const state = stateOf(queued, outcome, cancelFlag === 1);
  const progress = queued && typeof queued.job.progress === 'object' ? (queued.job.progress as unknown as StoredProgress) : undefined;
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
    attempts: { made: queued?.job.attemptsStarted ?? outcome?.attempts ?? 0, max: queued?.job.opts.attempts ?? ctx.config.jobAttempts },
    created_at: record.created_at,
    started_at: iso(queued?.job.processedOn),
    finished_at: outcome?.finished_at ?? (isTerminal(state) ? iso(queued?.job.finishedOn) : null),
    error: errorOf(state, queued, outcome),
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
