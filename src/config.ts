/**
 * Service configuration from environment variables, validated once at start: a bad value stops the
 * process with a message naming the variable. README.md lists every variable.
 */
import { resolve } from 'node:path';

/** The tfjs backends the model can be forced to; test/service/config.test.ts keeps it equal to BACKEND_ORDER. */
export const MODEL_BACKENDS = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type ModelBackend = (typeof MODEL_BACKENDS)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface ServiceConfig {
  port: number;
  host: string;
  redisUrl: string;
  /** Namespaces every Redis key (queue, users, flags), so deployments and tests can share one Redis. */
  redisPrefix: string;
  dataDir: string;
  logLevel: (typeof LOG_LEVELS)[number];
  uploadMaxBytes: number;
  workerConcurrency: number;
  /** undefined: the model picks the first backend that starts. */
  modelBackend: ModelBackend | undefined;
  jobAttempts: number;
  jobBackoffMs: number;
  /** How long finished jobs stay in the queue (their records and results stay on disk). */
  jobRetentionSeconds: number;
  /** Job submissions allowed per API key and minute. */
  submitRateLimit: number;
  /** How long a stopping worker waits for its current job before releasing it to another worker. */
  shutdownGraceMs: number;
  /** A worker lock not renewed within this time marks the job stalled, so another worker takes it. */
  lockDurationMs: number;
  stalledIntervalMs: number;
  /** Worker crashes (stalls) a job survives, counted apart from JOB_ATTEMPTS' failures. */
  jobMaxStalls: number;
  /** A running job whose process sends nothing this long is stopped and retried. */
  jobProgressTimeoutMs: number;
  /** Inspector child processes one API runs at once; uploads beyond answer 503. */
  inspectConcurrency: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
  }
}

type Env = Record<string, string | undefined>;

function text(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === '' ? fallback : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `expected a whole number, got '${raw}'`);
  const value = Number(raw.trim());
  if (value < min || value > max) throw new ConfigError(name, `expected ${min}..${max}, got ${value}`);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T | undefined): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `expected one of ${choices.join(', ')}, got '${raw}'`);
  }
  return raw as T;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Bytes from '500000', '200M', '20G' or '2GiB' (binary units). */
function size(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const match = /^\s*(\d+)\s*([kmgt]?)(i?b)?\s*$/i.exec(raw);
  if (!match) throw new ConfigError(name, `expected a size such as 500M or 20G, got '${raw}'`);
  const value = Number(match[1]) * SIZE_UNITS[match[2].toLowerCase()];
  if (value < 1 || !Number.isSafeInteger(value)) throw new ConfigError(name, `size out of range: '${raw}'`);
  return value;
}

function redisUrl(env: Env): string {
  const raw = text(env, 'REDIS_URL', 'redis://127.0.0.1:6379');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('REDIS_URL', `not a URL: '${raw}'`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError('REDIS_URL', `expected redis:// or rediss://, got '${url.protocol}'`);
  }
  return raw;
}

export function loadConfig(env: Env = process.env): ServiceConfig {
  const prefix = text(env, 'REDIS_PREFIX', 'scgmdvae');
  if (!/^[A-Za-z0-9_.:-]+$/.test(prefix)) throw new ConfigError('REDIS_PREFIX', `letters, digits and _.:- only, got '${prefix}'`);
  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: text(env, 'HOST', '127.0.0.1'),
    redisUrl: redisUrl(env),
    redisPrefix: prefix,
    dataDir: resolve(text(env, 'DATA_DIR', './data')),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info') as ServiceConfig['logLevel'],
    uploadMaxBytes: size(env, 'UPLOAD_MAX_BYTES', 20 * 1024 ** 3),
    workerConcurrency: integer(env, 'WORKER_CONCURRENCY', 1, 1, 64),
    modelBackend: oneOf(env, 'SCGMDVAE_BACKEND', MODEL_BACKENDS, undefined),
    jobAttempts: integer(env, 'JOB_ATTEMPTS', 2, 1, 20),
    jobBackoffMs: integer(env, 'JOB_BACKOFF_MS', 30_000, 0, 3_600_000),
    jobRetentionSeconds: integer(env, 'JOB_RETENTION_SECONDS', 7 * 24 * 3600, 60, 365 * 24 * 3600),
    submitRateLimit: integer(env, 'SUBMIT_RATE_LIMIT', 30, 1, 100_000),
    shutdownGraceMs: integer(env, 'WORKER_SHUTDOWN_GRACE_MS', 60_000, 0, 3_600_000),
    lockDurationMs: integer(env, 'WORKER_LOCK_MS', 30_000, 1_000, 600_000),
    stalledIntervalMs: integer(env, 'WORKER_STALLED_CHECK_MS', 30_000, 500, 600_000),
    jobMaxStalls: integer(env, 'JOB_MAX_STALLS', 3, 1, 100),
    jobProgressTimeoutMs: integer(env, 'JOB_PROGRESS_TIMEOUT_MS', 1_800_000, 1_000, 86_400_000),
    inspectConcurrency: integer(env, 'INSPECT_CONCURRENCY', 2, 1, 64),
  };
}
