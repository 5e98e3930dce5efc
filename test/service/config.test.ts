import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { ConfigError, MODEL_BACKENDS, loadConfig } from '../../src/config.js';

test('defaults need no environment at all', () => {
  const config = loadConfig({});
  assert.equal(config.port, 8080);
  assert.equal(config.redisUrl, 'redis://127.0.0.1:6379');
  assert.equal(config.workerConcurrency, 1);
  assert.equal(config.jobAttempts, 2);
  assert.equal(config.modelBackend, undefined);
  assert.equal(config.jobMaxStalls, 3);
  assert.equal(config.inspectConcurrency, 2);
  assert.equal(config.jobProgressTimeoutMs, 1_800_000);
  assert.ok(config.uploadMaxBytes > 1024 ** 3, 'well above the multipart default of 1 MiB');
});

test('values are parsed: sizes with units, numbers, enums', () => {
  const config = loadConfig({ PORT: '9000', UPLOAD_MAX_BYTES: '200M', WORKER_CONCURRENCY: '2', SCGMDVAE_BACKEND: 'wasm', LOG_LEVEL: 'debug' });
  assert.equal(config.port, 9000);
  assert.equal(config.uploadMaxBytes, 200 * 1024 ** 2);
  assert.equal(config.workerConcurrency, 2);
  assert.equal(config.modelBackend, 'wasm');
  assert.equal(loadConfig({ UPLOAD_MAX_BYTES: '2GiB' }).uploadMaxBytes, 2 * 1024 ** 3);
});

test('a bad value is refused with a message naming the variable', () => {
  const cases: [string, string][] = [
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['REDIS_URL', 'http://localhost'],
    ['REDIS_URL', 'not a url'],
    ['UPLOAD_MAX_BYTES', '12 parsecs'],
    ['WORKER_CONCURRENCY', '0'],
    ['SCGMDVAE_BACKEND', 'cuda'],
    ['LOG_LEVEL', 'loud'],
    ['JOB_ATTEMPTS', '-1'],
    ['REDIS_PREFIX', 'has space'],
    ['JOB_MAX_STALLS', '0'],
    ['JOB_PROGRESS_TIMEOUT_MS', 'soon'],
    ['INSPECT_CONCURRENCY', '0'],
    ['STORAGE_URL', 'ftp://host/x'],
    ['STORAGE_URL', 's3://Not_A_Bucket/x'],
    ['STORAGE_URL', 'file://host/x'],
    ['QUEUES', 'cpu,tpu'],
  ];
  for (const [variable, value] of cases) {
    assert.throws(
      () => loadConfig({ [variable]: value }),
      (err: unknown) => err instanceof ConfigError && err.variable === variable && err.message.startsWith(`${variable}:`),
      `${variable}=${value}`,
    );
  }
});

test('the backends the config accepts are the ones the model knows', async () => {
  const { BACKEND_ORDER } = await import('../../src/model/backend.js');
  assert.deepEqual([...MODEL_BACKENDS].sort(), [...BACKEND_ORDER].sort());
});

test('storage: DATA_DIR (the default ./data) or STORAGE_URL, file:// or s3:// with its variables', () => {
  assert.deepEqual(loadConfig({}).storage, { kind: 'file', root: resolve('./data') });
  assert.deepEqual(loadConfig({ STORAGE_URL: 'file:///srv/scg' }).storage, { kind: 'file', root: '/srv/scg' });
  assert.deepEqual(
    loadConfig({ STORAGE_URL: 's3://lab-data/scg/v1/', S3_ENDPOINT: 'http://minio:9000', S3_FORCE_PATH_STYLE: 'true', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', S3_PRESIGN: 'true' }).storage,
    { kind: 's3', bucket: 'lab-data', prefix: 'scg/v1/', endpoint: 'http://minio:9000', forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, presign: true },
  );
  const refused = (env: Record<string, string>, variable: string) =>
    assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && err.variable === variable, JSON.stringify(env));
  refused({ STORAGE_URL: 's3://lab-data', AWS_ACCESS_KEY_ID: 'a' }, 'AWS_SECRET_ACCESS_KEY');
  refused({ STORAGE_URL: 's3://lab-data', S3_ENDPOINT: 'minio:9000' }, 'S3_ENDPOINT');
  refused({ STORAGE_URL: 's3://lab-data', AWS_REGION: 'EU West' }, 'AWS_REGION');
  refused({ STORAGE_URL: 'file:///a', DATA_DIR: '/b' }, 'DATA_DIR');
  refused({ STORAGE_URL: 's3://lab-data', S3_PRESIGN: 'yes' }, 'S3_PRESIGN');
});

test('queues: a worker serves cpu and gpu unless QUEUES says otherwise', () => {
  assert.deepEqual(loadConfig({}).queues, ['cpu', 'gpu']);
  assert.deepEqual(loadConfig({ QUEUES: 'gpu' }).queues, ['gpu']);
  assert.deepEqual(loadConfig({ QUEUES: ' cpu , cpu' }).queues, ['cpu']);
});
