/**
 * The worker: takes analysis jobs from the queue and runs each in a fresh child process of its own (job-child.ts),
 * `concurrency` at a time. How a job ended is written to its outcome file here, the one place the API reads it from.
 */
import { DelayedError, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { siblingModule } from '../child-module.js';
import type { ServiceConfig } from '../config.js';
import { createStorage, type JobOutcome } from '../storage/index.js';
import {
  DURATION_BUCKETS_SECONDS,
  QUEUE_NAME,
  WORKER_HEARTBEAT_MS,
  WORKER_SEEN_WINDOW_MS,
  connectRedis,
  redisKeys,
  type AnalysisJobData,
  type StoredProgress,
} from './index.js';
import { CHILD_START_TIMEOUT_MS, ChildStartError, probeChild, runInChild, type ChildResult } from './job-child.js';

export interface StartWorkerOptions {
  /** The job child module; tests swap in one with a fake pipeline. Default: job-process. */
  processorFile?: URL;
}

export interface RunningWorker {
  readonly id: string;
  /** Stops taking jobs, waits up to the grace time for running ones, then hands them back to the queue. */
  stop(): Promise<void>;
}

/** How often a worker looks for cancel requests on the jobs it runs. */
const CANCEL_POLL_MS = 500;
/** How often a worker whose job processes cannot start tries again; its jobs wait that long. */
const PROBE_RETRY_MS = 5_000;
/** The abort reason a stopping worker uses to hand its job back to the queue instead of canceling it. */
const RELEASE_REASON = 'scgmdvae:release';
/** The environment variable through which the worker tells its children where the data lives. */
const DATA_DIR_ENV = 'DATA_DIR';

export async function startWorker(config: ServiceConfig, options: StartWorkerOptions = {}): Promise<RunningWorker> {
  const id = `${process.pid}-${randomUUID().slice(0, 8)}`;
  const log = pino({ level: config.logLevel, base: { role: 'worker', worker: id } });
  const keys = redisKeys(config.redisPrefix);
  const storage = await createStorage(config.dataDir);
  const redis = connectRedis(config, 'worker');
  const processorFile = options.processorFile ?? siblingModule(import.meta.url, 'job-process');

  const childEnv: NodeJS.ProcessEnv = { ...process.env, [DATA_DIR_ENV]: config.dataDir };
  if (config.modelBackend) childEnv.SCGMDVAE_BACKEND = config.modelBackend;

  const finish = (job: Job<AnalysisJobData>, outcome: Pick<JobOutcome, 'state' | 'error'>) =>
    storage.setOutcome(job.data.jobId, { ...outcome, finished_at: new Date().toISOString(), attempts: job.attemptsStarted });

  /** Whether job processes start here; a worker whose children cannot start is not ready and takes no jobs. */
  let childrenStart = true;
  let probing: NodeJS.Timeout | undefined;
  const probe = () =>
    probeChild(processorFile, childEnv, CHILD_START_TIMEOUT_MS).then(
      () => {
        if (!childrenStart) log.info('job processes start again; taking jobs');
        childrenStart = true;
        if (worker.isPaused()) worker.resume();
        void beat();
      },
      (err: Error) => {
        if (childrenStart) log.error({ err: { message: err.message } }, 'job processes cannot start: not ready, taking no jobs');
        childrenStart = false;
        worker.pause(true);
        void beat();
        probing = setTimeout(probe, PROBE_RETRY_MS);
      },
    );

  const resultsOf = (jobId: string) => ({ results: `jobs/${jobId}/results` });

  async function processJob(job: Job<AnalysisJobData>, token?: string, signal?: AbortSignal): Promise<{ results: string }> {
    const { jobId } = job.data;
    const ended = await storage.getOutcome(jobId);
    // A job the queue lost and got back (a Redis restart) may have ended meanwhile: it never runs twice.
    if (ended) {
      log.info({ job: jobId, state: ended.state }, 'job already ended: not run again');
      return resultsOf(jobId);
    }
    running.add(jobId);
    try {
      return await attemptJob(job, token, signal);
    } finally {
      running.delete(jobId);
    }
  }

  async function attemptJob(job: Job<AnalysisJobData>, token?: string, signal?: AbortSignal): Promise<{ results: string }> {
    const { jobId, datasetId, params } = job.data;
    const outDir = await storage.newAttemptDir(jobId);
    const attempt = job.attemptsStarted;
    let result: ChildResult;
    try {
      result = await runInChild(
        { inputPath: storage.datasetPath(datasetId), outDir, params },
        {
          file: processorFile,
          env: childEnv,
          progressTimeoutMs: config.jobProgressTimeoutMs,
          signal: signal!,
          releaseReason: RELEASE_REASON,
          onSpawn: (pid) => log.info({ job: jobId, attempt, pid }, 'job process started'),
          onProgress: (event) => {
            const progress: StoredProgress = { ...event, attempt, at: new Date().toISOString() };
            job.updateProgress(progress as unknown as Record<string, unknown>).catch((err: Error) => log.warn({ err: { message: err.message } }, 'progress not stored'));
          },
        },
      );
    } catch (err) {
      await storage.discardAttempt(outDir);
      if (err instanceof ChildStartError && token) {
        clearTimeout(probing);
        void probe();
        await job.moveToDelayed(Date.now() + PROBE_RETRY_MS, token);
        throw new DelayedError();
      }
      throw await systemFailure(job, err as Error);
    }
    if (result.ok) {
      if (await storage.getOutcome(jobId)) {
        await storage.discardAttempt(outDir);
      } else {
        await storage.publishResults(jobId, outDir);
        await finish(job, { state: 'COMPLETE' });
        log.info({ job: jobId, attempt }, 'results published');
      }
      return resultsOf(jobId);
    }
    await storage.discardAttempt(outDir);
    const { error } = result;
    if (error.aborted && signal?.reason === RELEASE_REASON && token) {
      await job.moveToWait(token);
      throw new WaitingError();
    }
    if (error.aborted) {
      await finish(job, { state: 'CANCELED' });
      throw new UnrecoverableError('canceled');
    }
    if (error.input) {
      await finish(job, { state: 'EXECUTOR_ERROR', error: { kind: error.name, message: error.message } });
      throw new UnrecoverableError(error.message);
    }
    throw await systemFailure(job, Object.assign(new Error(error.message), { name: error.name }));
  }

  /** The error to fail the attempt with; on the last attempt the job's SYSTEM_ERROR outcome is written first. */
  async function systemFailure(job: Job<AnalysisJobData>, error: Error): Promise<Error> {
    if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) await finish(job, { state: 'SYSTEM_ERROR', error: { kind: error.name || 'Error', message: error.message } });
    return error;
  }

  const running = new Set<string>();
  const worker = new Worker<AnalysisJobData>(QUEUE_NAME, processJob, {
    connection: redis,
    prefix: config.redisPrefix,
    concurrency: config.workerConcurrency,
    lockDuration: config.lockDurationMs,
    stalledInterval: config.stalledIntervalMs,
    maxStalledCount: config.jobMaxStalls,
    autorun: false,
  });

  const recordDuration = async (job: Job<AnalysisJobData>, state: string) => {
    const seconds = ((job.finishedOn ?? Date.now()) - (job.processedOn ?? Date.now())) / 1000;
    const multi = redis.multi().hincrbyfloat(keys.durations(state), 'sum', seconds).hincrby(keys.durations(state), 'count', 1);
    for (const le of DURATION_BUCKETS_SECONDS) if (seconds <= le) multi.hincrby(keys.durations(state), String(le), 1);
    await multi.exec();
  };

  worker.on('active', (job) => {
    log.info({ job: job.id, attempt: job.attemptsStarted }, 'job started');
  });
  worker.on('completed', (job) => {
    log.info({ job: job.id }, 'job complete');
    recordDuration(job, 'COMPLETE').catch((err) => log.warn({ err }, 'duration not recorded'));
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    log.warn({ job: job.id, attempt: job.attemptsMade, kind: err.name, final, reason: err.message }, 'job failed');
    if (!final) return;
    storage
      .getOutcome(job.id!)
      .then((outcome) => recordDuration(job, outcome?.state ?? 'SYSTEM_ERROR'))
      .catch((error) => log.error({ err: error, job: job.id }, 'duration not recorded'));
  });
  worker.on('stalled', (jobId) => log.warn({ job: jobId }, 'job stalled: its worker stopped renewing the lock; retrying'));
  worker.on('error', (err) => log.error({ err }, 'worker error'));

  const cancelPoll = setInterval(() => {
    const ids = [...running];
    if (ids.length === 0) return;
    redis
      .mget(ids.map((jobId) => keys.cancel(jobId)))
      .then((flags) => {
        ids.forEach((jobId, i) => {
          // Aborted once is enough: the job leaves the set so it is not aborted (and logged) again.
          if (flags[i] && worker.cancelJob(jobId, 'canceled by user')) {
            running.delete(jobId);
            log.info({ job: jobId }, 'canceling job');
          }
        });
      })
      .catch((err) => log.warn({ err }, 'cancel check failed'));
  }, CANCEL_POLL_MS);
  // Each beat also forgets workers no longer seen (killed ones never remove themselves); one that cannot start jobs leaves.
  const beat = () =>
    (childrenStart ? redis.multi().zadd(keys.workers, Date.now(), id) : redis.multi().zrem(keys.workers, id))
      .zremrangebyscore(keys.workers, 0, Date.now() - WORKER_SEEN_WINDOW_MS)
      .exec()
      .catch((err) => log.warn({ err }, 'heartbeat failed'));
  const heartbeat = setInterval(beat, WORKER_HEARTBEAT_MS);
  await probe();

  worker.run().catch((err: Error) => log.error({ err: { message: err.message } }, 'worker stopped running'));
  await worker.waitUntilReady();
  log.info({ concurrency: config.workerConcurrency, backend: config.modelBackend ?? 'auto', processor: processorFile.pathname }, 'worker ready');

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      log.info({ graceMs: config.shutdownGraceMs }, 'worker stopping: no new jobs');
      clearInterval(heartbeat);
      clearTimeout(probing);
      const closed = worker.close();
      const grace = setTimeout(() => {
        if (running.size > 0) log.warn({ jobs: [...running] }, 'grace time over: handing jobs back to the queue');
        worker.cancelAllJobs(RELEASE_REASON);
      }, config.shutdownGraceMs);
      await closed;
      clearTimeout(grace);
      clearInterval(cancelPoll);
      await redis.zrem(keys.workers, id).catch(() => undefined);
      redis.disconnect();
      log.info('worker stopped');
    })();
    return stopping;
  };
  return { id, stop };
}
