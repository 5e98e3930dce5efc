/**
 * The job body that runs inside a worker's sandboxed child process: it runs a pipeline function on the job's
 * dataset, streams progress to BullMQ, and turns the way the run ended into the job's outcome.
 * The child is a separate process so that training never blocks the worker's lock renewal.
 */
import { UnrecoverableError, WaitingError, type SandboxedJob } from 'bullmq';
import { rm } from 'node:fs/promises';
import { InputError, redactPaths } from '../errors.js';
import type { PipelineJob, PipelineProgress, PipelineRunOptions } from '../pipeline/types.js';
import { LocalStorage } from '../storage/local.js';
import type { JobOutcome } from '../storage/types.js';
import type { AnalysisJobData, StoredProgress } from './index.js';

export type PipelineFunction = (job: PipelineJob, options: PipelineRunOptions) => Promise<unknown>;

/** The abort reason a stopping worker uses to hand its job back to the queue instead of canceling it. */
export const RELEASE_REASON = 'scgmdvae:release';

/** Progress more often than this goes to Redis only when the stage changes. */
const PROGRESS_INTERVAL_MS = 250;

/** The environment variable through which the worker tells its children where the data lives. */
export const DATA_DIR_ENV = 'DATA_DIR';

function throttledProgress(job: SandboxedJob<AnalysisJobData>, paths: Record<string, string>): (event: PipelineProgress) => void {
  let lastStage = '';
  let lastSent = 0;
  return (event) => {
    const now = Date.now();
    if (event.stage === lastStage && now - lastSent < PROGRESS_INTERVAL_MS) return;
    lastStage = event.stage;
    lastSent = now;
    const progress: StoredProgress = { ...event, message: redactPaths(event.message, paths), at: new Date(now).toISOString() };
    void job.updateProgress(progress as unknown as Record<string, unknown>);
  };
}

/**
 * The error as the job will show it: without server paths, and with its class name as an own property so that
 * it survives BullMQ's JSON trip from this child to the worker.
 */
function reportable(err: unknown, paths: Record<string, string>): Error {
  const error = err instanceof Error ? err : new Error(String(err));
  error.message = redactPaths(error.message, paths);
  Object.defineProperty(error, 'name', { value: error.name, enumerable: true, writable: true, configurable: true });
  return error;
}

export function createProcessor(runPipeline: PipelineFunction) {
  // A child whose worker died (kill -9) must not train on: the job is retried elsewhere.
  if (process.send) process.once('disconnect', () => process.exit(1));

  return async function processAnalysis(job: SandboxedJob<AnalysisJobData>, token?: string, signal?: AbortSignal): Promise<{ results: string }> {
    const dataDir = process.env[DATA_DIR_ENV];
    if (!dataDir) throw new Error(`${DATA_DIR_ENV} is not set in the worker's child process`);
    const storage = new LocalStorage(dataDir);
    const { jobId, datasetId, params } = job.data;
    const finish = (outcome: Pick<JobOutcome, 'state' | 'error'>) =>
      storage.setOutcome(jobId, { ...outcome, finished_at: new Date().toISOString(), attempts: job.attemptsStarted });

    await storage.clearOutcome(jobId);
    const outDir = await storage.newAttemptDir(jobId);
    const inputPath = storage.datasetPath(datasetId);
    const paths = { [outDir]: 'the results folder', [inputPath]: 'the dataset' };
    try {
      await runPipeline({ inputPath, outDir, params }, { signal, onProgress: throttledProgress(job, paths) });
      await storage.publishResults(jobId, outDir);
      await finish({ state: 'COMPLETE' });
      return { results: `jobs/${jobId}/results` };
    } catch (err) {
      await rm(outDir, { recursive: true, force: true });
      if (signal?.aborted && signal.reason === RELEASE_REASON && token) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      if (signal?.aborted) {
        await finish({ state: 'CANCELED' });
        throw new UnrecoverableError('canceled');
      }
      if (err instanceof InputError) {
        const message = redactPaths(err.message, paths);
        await finish({ state: 'EXECUTOR_ERROR', error: { kind: err.name, message } });
        throw new UnrecoverableError(message);
      }
      throw reportable(err, paths);
    }
  };
}
