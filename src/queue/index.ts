/**
 * The analysis queue (BullMQ on Redis) and the Redis keys the API and the workers share.
 */
import { Queue, type JobsOptions } from 'bullmq';
import type { PipelineProgress } from '../pipeline/types.js';
import { Redis } from 'ioredis';
import { JOB_QUEUES, type JobQueueName, type ServiceConfig } from '../config.js';

/** The BullMQ queue of a capability. */
export function queueName(queue: JobQueueName): string {
  return `analyses-${queue}`;
}

/** What a queued job carries; the worker reads the dataset and parameters by these ids. */
export interface AnalysisJobData {
  jobId: string;
  datasetId: string;
  owner: string;
  params: Record<string, unknown>;
}

/** Progress as stored on the BullMQ job: the pipeline's last event, the attempt that sent it and when. */
export type StoredProgress = PipelineProgress & { attempt: number; at: string };

/** Workers write these so /metrics can report job durations from the API process. */
export const DURATION_BUCKETS_SECONDS = [10, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 86400] as const;

export function redisKeys(prefix: string) {
  return {
    user: (name: string) => `${prefix}:user:${name}`,
    apiKey: (keyHash: string) => `${prefix}:apikey:${keyHash}`,
    cancel: (jobId: string) => `${prefix}:cancel:${jobId}`,
    idempotency: (owner: string, key: string) => `${prefix}:idem:${owner}:${key}`,
    submissions: (owner: string, minute: number) => `${prefix}:rate:${owner}:${minute}`,
    /** Sorted set: worker id -> last heartbeat (ms); per queue it serves, and all together. */
    workers: `${prefix}:workers`,
    queueWorkers: (queue: JobQueueName) => `${prefix}:workers:${queue}`,
    /** Hash: bucket upper bounds, 'sum', 'count' per terminal state. */
    durations: (state: string) => `${prefix}:metrics:duration:${state}`,
    /** Records (JSON) by id, and sorted sets of `created_at|id` per owner (undefined: everyone's) for listing. */
    dataset: (id: string) => `${prefix}:dataset:${id}`,
    job: (id: string) => `${prefix}:job:${id}`,
    /** How a job ended (JSON), set once (SET NX): the one place its end is read from. */
    outcome: (id: string) => `${prefix}:outcome:${id}`,
    datasets: (owner: string | undefined) => (owner === undefined ? `${prefix}:index:datasets` : `${prefix}:index:datasets:${owner}`),
    jobs: (owner: string | undefined) => (owner === undefined ? `${prefix}:index:jobs` : `${prefix}:index:jobs:${owner}`),
    /** Set: the unfinished jobs that read a dataset (its reference count). */
    datasetJobs: (id: string) => `${prefix}:dataset-jobs:${id}`,
    /** Sorted set: dataset ids of uploads in progress -> when they started (ms). */
    pendingUploads: `${prefix}:uploads`,
    /** Set once the records kept in the object store have been indexed in this Redis. */
    recordsIndexed: `${prefix}:records-indexed`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;

/** A worker not seen within this time counts as gone for /readyz. */
export const WORKER_HEARTBEAT_MS = 5_000;
export const WORKER_SEEN_WINDOW_MS = 3 * WORKER_HEARTBEAT_MS;

/**
 * The API's connection fails fast when Redis is down (so a request gets 503 at once); a worker's waits and
 * retries forever (BullMQ requires maxRetriesPerRequest: null for blocking commands); a one-shot CLI command
 * waits for the connection a few seconds, then fails.
 */
export function connectRedis(config: ServiceConfig, role: 'api' | 'worker' | 'cli'): Redis {
  const connectionName = `scgmdvae-${role}`;
  switch (role) {
    case 'worker':
      return new Redis(config.redisUrl, { connectionName, maxRetriesPerRequest: null });
    case 'cli':
      return new Redis(config.redisUrl, { connectionName, maxRetriesPerRequest: 1, retryStrategy: (times) => (times > 10 ? null : 300) });
    case 'api':
      return new Redis(config.redisUrl, {
        connectionName,
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        connectTimeout: 2_000,
        retryStrategy: (times) => Math.min(times * 250, 2_000),
      });
  }
}

export function jobOptions(config: ServiceConfig): JobsOptions {
  return {
    attempts: config.jobAttempts,
    backoff: { type: 'exponential', delay: config.jobBackoffMs },
    removeOnComplete: { age: config.jobRetentionSeconds },
    removeOnFail: { age: config.jobRetentionSeconds },
  };
}

export type JobQueues = Record<JobQueueName, Queue<AnalysisJobData>>;

export function createQueues(config: ServiceConfig, connection: Redis): JobQueues {
  const queue = (name: JobQueueName) =>
    new Queue<AnalysisJobData>(queueName(name), { connection, prefix: config.redisPrefix, defaultJobOptions: jobOptions(config) });
  return Object.fromEntries(JOB_QUEUES.map((name) => [name, queue(name)])) as JobQueues;
}

/**
 * The queue a job goes to: a dataset of at least GPU_MIN_VALUES stored values to the gpu queue, a smaller one to
 * the cpu queue, so small jobs never wait behind large ones; either goes to the other queue when no worker serves
 * its own (a gpu worker also runs small jobs when there is no cpu worker, a cpu worker large ones when there is no gpu).
 */
export async function routeJob(config: ServiceConfig, redis: Redis, storedValues: number): Promise<JobQueueName> {
  const keys = redisKeys(config.redisPrefix);
  const since = Date.now() - WORKER_SEEN_WINDOW_MS;
  const [cpu, gpu] = await Promise.all(JOB_QUEUES.map((queue) => redis.zcount(keys.queueWorkers(queue), since, '+inf')));
  const wanted: JobQueueName = storedValues >= config.gpuMinValues ? 'gpu' : 'cpu';
  const served = { cpu: cpu! > 0, gpu: gpu! > 0 };
  if (served[wanted]) return wanted;
  const other: JobQueueName = wanted === 'gpu' ? 'cpu' : 'gpu';
  return served[other] ? other : wanted;
}
