/**
 * The worker: takes analysis jobs from the queues it serves (QUEUES) and runs each in a sandboxed child process
 * (job-process.ts), `concurrency` at a time per queue.
 */
import { Worker, type Job } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { execArgvFor, siblingModule } from '../child-module.js';
import type { ServiceConfig } from '../config.js';
import { createStorage } from '../storage/index.js';
import {
  DURATION_BUCKETS_SECONDS,
  queueName,
  WORKER_HEARTBEAT_MS,
  WORKER_SEEN_WINDOW_MS,
  connectRedis,
  redisKeys,
  type AnalysisJobData,
} from './index.js';
import { RELEASE_REASON, STORAGE_ENV, type ChildStorage } from './processor.js';

export interface StartWorkerOptions {
  /** The sandboxed processor module; tests swap in one with a fake pipeline. Default: job-process. */
  processorFile?: URL;
}

export interface RunningWorker {
  readonly id: string;
  /** Stops taking jobs, waits up to the grace time for running ones, then hands them back to the queue. */
  stop(): Promise<void>;
}

/** How often a worker looks for cancel requests on the jobs it runs. */
const CANCEL_POLL_MS = 500;

export async function startWorker(config: ServiceConfig, options: StartWorkerOptions = {}): Promise<RunningWorker> {
  const id = `${process.pid}-${randomUUID().slice(0, 8)}`;
  const log = pino({ level: config.logLevel, base: { role: 'worker', worker: id } });
  const keys = redisKeys(config.redisPrefix);
  const redis = connectRedis(config, 'worker');
  const storage = await createStorage(config, redis);
  const processorFile = options.processorFile ?? siblingModule(import.meta.url, 'job-process');

  const childStorage: ChildStorage = { storage: config.storage, scratchDir: config.scratchDir };
  const childEnv: NodeJS.ProcessEnv = { ...process.env, [STORAGE_ENV]: JSON.stringify(childStorage) };
  if (config.modelBackend) childEnv.SCGMDVAE_BACKEND = config.modelBackend;

  const workers = config.queues.map(
    (queue) =>
      new Worker<AnalysisJobData>(queueName(queue), processorFile, {
        connection: redis,
        prefix: config.redisPrefix,
        concurrency: config.workerConcurrency,
        useWorkerThreads: false,
        workerForkOptions: { env: childEnv, execArgv: execArgvFor(processorFile) },
        lockDuration: config.lockDurationMs,
        stalledInterval: config.stalledIntervalMs,
        maxStalledCount: 1,
        autorun: false,
      }),
  );

  /** Running job id -> the BullMQ worker (queue) that runs it. */
  const running = new Map<string, Worker<AnalysisJobData>>();
  const recordDuration = async (job: Job<AnalysisJobData>, state: string) => {
    const seconds = ((job.finishedOn ?? Date.now()) - (job.processedOn ?? Date.now())) / 1000;
    const multi = redis.multi().hincrbyfloat(keys.durations(state), 'sum', seconds).hincrby(keys.durations(state), 'count', 1);
    for (const le of DURATION_BUCKETS_SECONDS) if (seconds <= le) multi.hincrby(keys.durations(state), String(le), 1);
    await multi.exec();
  };
  // The job ended for good: record its duration and let its dataset be deleted.
  const ended = (job: Job<AnalysisJobData>, state: string) =>
    Promise.all([recordDuration(job, state), storage.releaseJob(job.id!, job.data.datasetId)]);

  for (const worker of workers) {
    worker.on('active', (job) => {
      running.set(job.id!, worker);
      log.info({ job: job.id, queue: worker.name, attempt: job.attemptsStarted }, 'job started');
    });
    worker.on('completed', (job) => {
      running.delete(job.id!);
      log.info({ job: job.id }, 'job complete');
      ended(job, 'COMPLETE').catch((err) => log.warn({ err }, 'duration not recorded'));
    });
    worker.on('failed', (job, err) => {
      if (!job) return;
      running.delete(job.id!);
      const unrecoverable = err.name === 'UnrecoverableError';
      const final = unrecoverable || job.attemptsMade >= (job.opts.attempts ?? 1);
      log.warn({ job: job.id, attempt: job.attemptsMade, kind: err.name, final, reason: err.message }, 'job failed');
      if (!final) return;
      // Input errors and cancels wrote their outcome in the child; an exhausted retry is the infrastructure's fault.
      const recorded = unrecoverable
        ? storage.getOutcome(job.id!).then((outcome) => outcome?.state ?? 'EXECUTOR_ERROR')
        : storage
            .setOutcome(job.id!, {
              state: 'SYSTEM_ERROR',
              finished_at: new Date().toISOString(),
              attempts: job.attemptsStarted,
              error: { kind: err.name || 'Error', message: err.message },
            })
            .then(() => 'SYSTEM_ERROR');
      recorded.then((state) => ended(job, state)).catch((error) => log.error({ err: error, job: job.id }, 'outcome not recorded'));
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
  // Each beat also forgets workers no longer seen (killed ones never remove themselves).
  const beat = () => {
    const now = Date.now();
    const multi = redis.multi();
    for (const set of [keys.workers, ...config.queues.map(keys.queueWorkers)]) multi.zadd(set, now, id).zremrangebyscore(set, 0, now - WORKER_SEEN_WINDOW_MS);
    return multi.exec().catch((err) => log.warn({ err }, 'heartbeat failed'));
  };
  const heartbeat = setInterval(beat, WORKER_HEARTBEAT_MS);
  await beat();

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
