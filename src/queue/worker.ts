/**
 * The worker: takes analysis jobs from the queues it serves (QUEUES) and runs each in a fresh child process of its
 * own (job-child.ts), `concurrency` at a time per queue. How a job ended is written to its outcome here, the one
 * place the API reads it from; finished results are uploaded from this machine's scratch folder.
 */
import { DelayedError, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pino } from 'pino';
import { siblingModule } from '../child-module.js';
import type { ServiceConfig } from '../config.js';
import { createStorage, objectKeys, type JobOutcome } from '../storage/index.js';
import {
  DURATION_BUCKETS_SECONDS,
  queueName,
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

export async function startWorker(config: ServiceConfig, options: StartWorkerOptions = {}): Promise<RunningWorker> {
  const id = `${process.pid}-${randomUUID().slice(0, 8)}`;
  const log = pino({ level: config.logLevel, base: { role: 'worker', worker: id } });
  const keys = redisKeys(config.redisPrefix);
  const redis = connectRedis(config, 'worker');
  const storage = await createStorage(config, redis);
  const processorFile = options.processorFile ?? siblingModule(import.meta.url, 'job-process');

  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  if (config.modelBackend) childEnv.SCGMDVAE_BACKEND = config.modelBackend;
  // Concurrent jobs share the cores: each job's BLAS gets its share rather than every core.
  childEnv.OPENBLAS_NUM_THREADS ??= String(Math.max(1, Math.floor(availableParallelism() / config.workerConcurrency)));

  const outcomeOf = (job: Job<AnalysisJobData>, outcome: Pick<JobOutcome, 'state' | 'error'>): JobOutcome => ({
    ...outcome,
    finished_at: new Date().toISOString(),
    attempts: job.attemptsStarted,
  });
  const finish = (job: Job<AnalysisJobData>, outcome: Pick<JobOutcome, 'state' | 'error'>) => storage.setOutcome(job.data.jobId, outcomeOf(job, outcome));

  /** Whether job processes start here; a worker whose children cannot start is not ready and takes no jobs. */
  let childrenStart = true;
  let probing: NodeJS.Timeout | undefined;
  const probe = () =>
    probeChild(processorFile, childEnv, CHILD_START_TIMEOUT_MS).then(
      () => {
        if (!childrenStart) log.info('job processes start again; taking jobs');
        childrenStart = true;
        for (const worker of workers) if (worker.isPaused()) worker.resume();
        void beat();
      },
      (err: Error) => {
        if (childrenStart) log.error({ err: { message: err.message } }, 'job processes cannot start: not ready, taking no jobs');
        childrenStart = false;
        for (const worker of workers) void worker.pause(true);
        void beat();
        probing = setTimeout(probe, PROBE_RETRY_MS);
      },
    );

  /** Runs a job on the BullMQ worker of its queue, unless it has ended already. */
  async function processJob(worker: Worker<AnalysisJobData>, job: Job<AnalysisJobData>, token?: string, signal?: AbortSignal): Promise<void> {
    const { jobId } = job.data;
    const ended = await storage.getOutcome(jobId);
    // A job the queue lost and got back (a Redis restart) may have ended meanwhile: it never runs twice.
    if (ended) {
      log.info({ job: jobId, state: ended.state }, 'job already ended: not run again');
      return;
    }
    running.set(jobId, worker);
    // The input and the results stay on this machine's disk while the pipeline runs; only finished results are uploaded.
    const jobScratch = join(config.scratchDir, jobId);
    try {
      await attemptJob(job, join(jobScratch, randomUUID()), token, signal);
    } finally {
      running.delete(jobId);
      // The whole job folder: a killed attempt's on this machine goes too.
      await rm(jobScratch, { recursive: true, force: true });
    }
  }

  async function attemptJob(job: Job<AnalysisJobData>, attemptDir: string, token?: string, signal?: AbortSignal): Promise<void> {
    const { jobId, datasetId, params } = job.data;
    const attempt = job.attemptsStarted;
    const outDir = join(attemptDir, 'results');
    let result: ChildResult;
    try {
      await mkdir(outDir, { recursive: true });
      const inputPath = await storage.objects.localCopy(objectKeys.datasetData(datasetId), join(attemptDir, 'input'));
      result = await runInChild(
        { inputPath, outDir, params },
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
      if (err instanceof ChildStartError && token) {
        clearTimeout(probing);
        void probe();
        await job.moveToDelayed(Date.now() + PROBE_RETRY_MS, token);
        throw new DelayedError();
      }
      throw await systemFailure(job, err as Error);
    }
    if (result.ok) {
      const held = await storage.publishResults(jobId, basename(attemptDir), outDir, outcomeOf(job, { state: 'COMPLETE' }));
      if (held.results === basename(attemptDir)) log.info({ job: jobId, attempt }, 'results published');
      else log.info({ job: jobId, attempt, state: held.state }, 'job ended meanwhile: results not published');
      return;
    }
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

  /** Running job id -> the BullMQ worker (queue) that runs it. */
  const running = new Map<string, Worker<AnalysisJobData>>();
  const workers = config.queues.map((queue) => {
    const worker: Worker<AnalysisJobData> = new Worker<AnalysisJobData>(queueName(queue), (job, token, signal) => processJob(worker, job, token, signal), {
      connection: redis,
      prefix: config.redisPrefix,
      concurrency: config.workerConcurrency,
      lockDuration: config.lockDurationMs,
      stalledInterval: config.stalledIntervalMs,
      maxStalledCount: config.jobMaxStalls,
      autorun: false,
    });
    return worker;
  });

  const recordDuration = async (job: Job<AnalysisJobData>, state: string) => {
    const seconds = ((job.finishedOn ?? Date.now()) - (job.processedOn ?? Date.now())) / 1000;
    const multi = redis.multi().hincrbyfloat(keys.durations(state), 'sum', seconds).hincrby(keys.durations(state), 'count', 1);
    for (const le of DURATION_BUCKETS_SECONDS) if (seconds <= le) multi.hincrby(keys.durations(state), String(le), 1);
    await multi.exec();
  };

  // The job ended for good: record its duration under the state its outcome holds, and let its dataset be deleted.
  const ended = (job: Job<AnalysisJobData>) =>
    storage
      .getOutcome(job.id!)
      .then((outcome) => Promise.all([recordDuration(job, outcome?.state ?? 'SYSTEM_ERROR'), storage.releaseJob(job.id!, job.data.datasetId)]))
      .catch((error) => log.error({ err: error, job: job.id }, 'duration not recorded'));

  for (const worker of workers) {
    worker.on('active', (job) => {
      log.info({ job: job.id, queue: worker.name, attempt: job.attemptsStarted }, 'job started');
    });
    worker.on('completed', (job) => {
      log.info({ job: job.id }, 'job complete');
      void ended(job);
    });
    worker.on('failed', (job, err) => {
      if (!job) return;
      const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
      log.warn({ job: job.id, attempt: job.attemptsMade, kind: err.name, final, reason: err.message }, 'job failed');
      if (!final) return;
      void ended(job);
    });
    worker.on('stalled', (jobId) => log.warn({ job: jobId }, 'job stalled: its worker stopped renewing the lock; retrying'));
    worker.on('error', (err) => log.error({ err }, 'worker error'));
  }

  const cancelPoll = setInterval(() => {
    const ids = [...running.keys()];
    if (ids.length === 0) return;
    redis
      .mget(ids.map((jobId) => keys.cancel(jobId)))
      .then((flags) => {
        ids.forEach((jobId, i) => {
          // Aborted once is enough: the job leaves the map so it is not aborted (and logged) again.
          if (flags[i] && running.get(jobId)?.cancelJob(jobId, 'canceled by user')) {
            running.delete(jobId);
            log.info({ job: jobId }, 'canceling job');
          }
        });
      })
      .catch((err) => log.warn({ err }, 'cancel check failed'));
  }, CANCEL_POLL_MS);
  // Each beat also forgets workers no longer seen (killed ones never remove themselves); one that cannot start jobs leaves.
  const beat = () => {
    const now = Date.now();
    const multi = redis.multi();
    for (const set of [keys.workers, ...config.queues.map(keys.queueWorkers)]) {
      (childrenStart ? multi.zadd(set, now, id) : multi.zrem(set, id)).zremrangebyscore(set, 0, now - WORKER_SEEN_WINDOW_MS);
    }
    return multi.exec().catch((err) => log.warn({ err }, 'heartbeat failed'));
  };
  const heartbeat = setInterval(beat, WORKER_HEARTBEAT_MS);
  await probe();

  for (const worker of workers) worker.run().catch((err: Error) => log.error({ err: { message: err.message } }, 'worker stopped running'));
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  log.info(
    { queues: config.queues, concurrency: config.workerConcurrency, backend: config.modelBackend ?? 'auto', store: storage.objects.url, processor: processorFile.pathname },
    'worker ready',
  );

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      log.info({ graceMs: config.shutdownGraceMs }, 'worker stopping: no new jobs');
      clearInterval(heartbeat);
      clearTimeout(probing);
      const closed = Promise.all(workers.map((worker) => worker.close()));
      const grace = setTimeout(() => {
        if (running.size > 0) log.warn({ jobs: [...running.keys()] }, 'grace time over: handing jobs back to the queue');
        for (const worker of workers) worker.cancelAllJobs(RELEASE_REASON);
      }, config.shutdownGraceMs);
      await closed;
      clearTimeout(grace);
      clearInterval(cancelPoll);
      const multi = redis.multi();
      for (const set of [keys.workers, ...config.queues.map(keys.queueWorkers)]) multi.zrem(set, id);
      await multi.exec().catch(() => undefined);
      redis.disconnect();
      log.info('worker stopped');
    })();
    return stopping;
  };
  return { id, stop };
}
