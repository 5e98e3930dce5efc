/**
 * The analysis queue (BullMQ on Redis) and the Redis keys the API and the workers share.
 */
import { Queue, type JobsOptions } from 'bullmq';
import type { PipelineProgress } from '../pipeline/types.js';
import { Redis } from 'ioredis';
import type { ServiceConfig } from '../config.js';

export const QUEUE_NAME = 'analyses';

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
    /** Sorted set: worker id -> last heartbeat (ms). */
    workers: `${prefix}:workers`,
    /** Hash: bucket upper bounds, 'sum', 'count' per terminal state. */
    durations: (state: string) => `${prefix}:metrics:duration:${state}`,
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

export function createQueue(config: ServiceConfig, connection: Redis): Queue<AnalysisJobData> {
  return new Queue<AnalysisJobData>(QUEUE_NAME, {
    connection,
    prefix: config.redisPrefix,
    defaultJobOptions: jobOptions(config),
  });
}
