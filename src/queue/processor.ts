/**
 * The job body that runs inside a worker's sandboxed child process: it runs a pipeline function on the job's
 * dataset, streams progress to BullMQ, and turns the way the run ended into the job's outcome.
 * The child is a separate process so that training never blocks the worker's lock renewal.
 */
import { UnrecoverableError, WaitingError, type SandboxedJob } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { StorageConfig } from '../config.js';
import { InputError, redactPaths } from '../errors.js';
import type { PipelineJob, PipelineProgress, PipelineRunOptions } from '../pipeline/types.js';
import { JobFiles, createObjectStore, objectKeys, type JobOutcome } from '../storage/index.js';
import type { AnalysisJobData, StoredProgress } from './index.js';

export type PipelineFunction = (job: PipelineJob, options: PipelineRunOptions) => Promise<unknown>;

/** The abort reason a stopping worker uses to hand its job back to the queue instead of canceling it. */
export const RELEASE_REASON = 'scgmdvae:release';

/** Progress more often than this goes to Redis only when the stage changes. */
const PROGRESS_INTERVAL_MS = 250;

/** The environment variable through which the worker tells its children where the data lives (JSON of ChildStorage). */
export const STORAGE_ENV = 'SCGMDVAE_CHILD_STORAGE';

export interface ChildStorage {
  storage: StorageConfig;
  /** Each attempt works in <scratchDir>/<job id>/<attempt>/, removed when it ends. */
  scratchDir: string;
}

let childFiles: Promise<{ files: JobFiles; scratchDir: string }> | undefined;

/** The store, opened once per child process (a child runs many jobs). */
function jobFiles(): Promise<{ files: JobFiles; scratchDir: string }> {
  childFiles ??= (async () => {
    const setting = process.env[STORAGE_ENV];
    if (!setting) throw new Error(`${STORAGE_ENV} is not set in the worker's child process`);
    const { storage, scratchDir } = JSON.parse(setting) as ChildStorage;
    return { files: new JobFiles(await createObjectStore(storage)), scratchDir };
  })();
  return childFiles;
}

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
    const { files, scratchDir } = await jobFiles();
    const { jobId, datasetId, params } = job.data;
    const outcomeOf = (outcome: Pick<JobOutcome, 'state' | 'error'>): JobOutcome => ({
      ...outcome,
      finished_at: new Date().toISOString(),
      attempts: job.attemptsStarted,
    });
    const finish = (outcome: Pick<JobOutcome, 'state' | 'error'>) => files.setOutcome(jobId, outcomeOf(outcome));

    await files.clearOutcome(jobId);
    // The input and the results stay on this machine's disk while the pipeline runs; only finished results are uploaded.
    const attempt = randomUUID();
    const jobScratch = join(scratchDir, jobId);
    const outDir = join(jobScratch, attempt, 'results');
    const inputCopy = join(jobScratch, attempt, 'input');
    const paths: Record<string, string> = { [outDir]: 'the results folder', [inputCopy]: 'the dataset', [jobScratch]: 'the job folder' };
    try {
      await mkdir(outDir, { recursive: true });
      const inputPath = await files.objects.localCopy(objectKeys.datasetData(datasetId), inputCopy);
      paths[inputPath] = 'the dataset';
      await runPipeline({ inputPath, outDir, params }, { signal, onProgress: throttledProgress(job, paths) });
      await files.publishResults(jobId, attempt, outDir, outcomeOf({ state: 'COMPLETE' }));
      return { results: objectKeys.attempt(jobId, attempt) };
    } catch (err) {
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
    } finally {
      await rm(jobScratch, { recursive: true, force: true });
    }
  };
}
