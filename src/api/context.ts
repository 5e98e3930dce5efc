import type { Redis } from 'ioredis';
import type { ServiceConfig } from '../config.js';
import type { JobQueues, RedisKeys } from '../queue/index.js';
import type { DatasetSummary, Storage } from '../storage/index.js';

/** Reads a dataset's summary; throws an InputError (DatasetError) when the file is not a readable dataset. */
export type DatasetInspector = (path: string, bytes: number) => Promise<DatasetSummary>;

/** What the route plugins share. */
export interface ApiContext {
  config: ServiceConfig;
  storage: Storage;
  redis: Redis;
  keys: RedisKeys;
  /** The capability queues (cpu, gpu); a job record says which one holds it. */
  queues: JobQueues;
  inspect: DatasetInspector;
  /** How often the events stream re-reads a job's status. */
  eventsPollMs: number;
  /** Process-local counters for /metrics. */
  counters: { uploadBytes: number; uploadsAccepted: number; uploadsRejected: number };
}

/** Route parameters of every `/:id` route: ids are UUIDs, so anything else is a 400 before any lookup. */
export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid' } },
} as const;
