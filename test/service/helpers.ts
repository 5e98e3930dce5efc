/** Shared scaffolding of the service tests: a config on a private Redis prefix and data dir, users, uploads. */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Redis } from 'ioredis';
import S3rver from 's3rver';
import { Readable } from 'node:stream';
import { loadConfig, type ServiceConfig } from '../../src/config.js';
import { addUser } from '../../src/api/auth.js';
import { connectRedis } from '../../src/queue/index.js';
import { createStorage } from '../../src/storage/index.js';

export const FIXTURES = new URL('../fixtures/service/', import.meta.url);
export const FAKE_PROCESSOR = new URL('fake-processor.ts', FIXTURES);
export const TENX_H5 = new URL('tenx_v2_hg19_chr21.h5', FIXTURES);
export const MTX_TARBALL = new URL('cr3.0_mtx.tar.gz', FIXTURES);

/** A config of its own: a fresh data dir (or STORAGE_URL from `env`), scratch dir and Redis key prefix, so test files never see each other's keys. */
export async function testConfig(env: Record<string, string> = {}): Promise<ServiceConfig> {
  const dataDir = await mkdtemp(join(tmpdir(), 'scgmdvae-service-'));
  return loadConfig({
    ...(env.STORAGE_URL ? {} : { DATA_DIR: dataDir }),
    SCRATCH_DIR: join(dataDir, 'scratch'),
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_PREFIX: `scgtest-${randomUUID().slice(0, 8)}`,
    LOG_LEVEL: 'silent',
    PORT: '0',
    JOB_BACKOFF_MS: '200',
    WORKER_SHUTDOWN_GRACE_MS: '2000',
    ...env,
  });
}

/** The folder of a config's file store. */
export function dataDirOf(config: ServiceConfig): string {
  if (config.storage.kind !== 'file') throw new Error('this test needs a file store');
  return config.storage.root;
}

/** Deletes every Redis key under `prefix`. */
export async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    let cursor = '0';
    for (let round = 0; round < 10_000; round++) {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (found.length) await redis.del(...found);
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    redis.disconnect();
  }
}

/** Deletes every Redis key under the config's prefix, its data dir and its scratch dir. */
export async function cleanup(config: ServiceConfig): Promise<void> {
  await deleteRedisKeys(config.redisUrl, config.redisPrefix);
  if (config.storage.kind === 'file') await rm(config.storage.root, { recursive: true, force: true });
  await rm(config.scratchDir, { recursive: true, force: true });
}

export interface TestS3 {
  /** The variables that point a config at the server's bucket. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** A real S3-protocol server (s3rver) on loopback with one empty bucket, its objects in a temporary folder. */
export async function startS3(bucket = 'scgmdvae-test'): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), 'scgmdvae-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const { port } = await server.run();
  return {
    env: {
      STORAGE_URL: `s3://${bucket}/deployment`,
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    },
    async stop() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

export async function newKey(config: ServiceConfig, name: string, admin = false): Promise<string> {
  return addUser(config, name, { admin });
}

export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

/** POST /v1/datasets with one file part. */
export async function upload(baseUrl: string, key: string, file: URL | string, content?: Uint8Array): Promise<Response> {
  const bytes = content ?? (await readFile(file));
  const form = new FormData();
  form.append('file', new Blob([bytes]), basename(typeof file === 'string' ? file : file.pathname));
  return fetch(`${baseUrl}/v1/datasets`, { method: 'POST', headers: bearer(key), body: form });
}

export async function submit(baseUrl: string, key: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${baseUrl}/v1/jobs`, {
    method: 'POST',
    headers: { ...bearer(key), 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

export interface JobJson {
  id: string;
  state: string;
  progress: { stage: string; epoch?: number; overall: number } | null;
  attempts: { made: number; max: number };
  error: { kind: string; message: string } | null;
  links: { self: string; results?: Record<string, string> };
  [key: string]: unknown;
}

/** Polls a job until `done(job)` holds; bounded by `rounds` polls of `everyMs`. */
export async function pollJob(
  baseUrl: string,
  key: string,
  id: string,
  done: (job: JobJson) => boolean,
  { rounds = 600, everyMs = 100 } = {},
): Promise<JobJson> {
  let job: JobJson | undefined;
  for (let round = 0; round < rounds; round++) {
    const response = await fetch(`${baseUrl}/v1/jobs/${id}`, { headers: bearer(key) });
    job = (await response.json()) as JobJson;
    if (done(job)) return job;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`job ${id} never reached the expected state; last: ${JSON.stringify(job)}`);
}

export const TERMINAL = ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'];

/** The sorted entries of an ended job's folder in a file store, once the outcome's copy is there (Redis holds the outcome first). */
export async function endedJobFolder(config: ServiceConfig, jobId: string, { rounds = 200, everyMs = 50 } = {}): Promise<string[]> {
  const dir = join(dataDirOf(config), 'jobs', jobId);
  for (let round = 0; round < rounds; round++) {
    const entries = (await readdir(dir)).sort();
    if (entries.includes('outcome.json')) return entries;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`job ${jobId}: no outcome.json in its folder`);
}

/**
 * A job of `owner`'s stored as a worker leaves it, without going through the queue (on a dataset of its own):
 * `write` fills its results folder; with `complete` they are published under a COMPLETE outcome, else the job
 * has no outcome, as while it runs. Returns the job id.
 */
export async function storeJob(config: ServiceConfig, owner: string, write: (dir: string) => Promise<void>, complete = true): Promise<string> {
  const redis = connectRedis(config, 'cli');
  const dir = await mkdtemp(join(tmpdir(), 'scgmdvae-results-'));
  try {
    const storage = await createStorage(config, redis);
    const upload = await storage.receive(Readable.from([Buffer.from('x')]));
    const created_at = new Date().toISOString();
    await storage.saveDataset(upload, { id: upload.id, owner, filename: 'x', bytes: 1, sha256: upload.sha256, created_at, inspect: {} });
    const id = randomUUID();
    await storage.submitJob({ id, owner, dataset_id: upload.id, params: {}, created_at, request_hash: 'stored', queue: 'cpu' });
    await write(dir);
    if (complete) await storage.publishResults(id, randomUUID(), dir, { state: 'COMPLETE', finished_at: created_at, attempts: 1 });
    return id;
  } finally {
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
}
