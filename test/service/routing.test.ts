/** Capability routing: by the dataset's stored values and by which queues live workers serve (their heartbeat sets). */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import type { ServiceConfig } from '../../src/config.js';
import { WORKER_SEEN_WINDOW_MS, connectRedis, redisKeys, routeJob } from '../../src/queue/index.js';
import { cleanup, testConfig } from './helpers.js';

let config: ServiceConfig;
let redis: Redis;

before(async () => {
  config = await testConfig({ GPU_MIN_VALUES: '1000' });
  redis = connectRedis(config, 'cli');
});

after(async () => {
  redis.disconnect();
  await cleanup(config);
});

async function serving(cpu: boolean, gpu: boolean): Promise<void> {
  const keys = redisKeys(config.redisPrefix);
  await redis.del(keys.queueWorkers('cpu'), keys.queueWorkers('gpu'));
  if (cpu) await redis.zadd(keys.queueWorkers('cpu'), Date.now(), 'cpu-worker');
  if (gpu) await redis.zadd(keys.queueWorkers('gpu'), Date.now(), 'gpu-worker');
  // A worker last seen before the window counts as gone.
  await redis.zadd(keys.queueWorkers(cpu ? 'gpu' : 'cpu'), Date.now() - 2 * WORKER_SEEN_WINDOW_MS, 'gone');
}

test('small jobs go to cpu and large ones to gpu while both are served; each falls back to the queue a live worker serves', async () => {
  const route = (values: number) => routeJob(config, redis, values);
  await serving(true, true);
  assert.deepEqual([await route(999), await route(1000)], ['cpu', 'gpu']);
  await serving(true, false);
  assert.deepEqual([await route(999), await route(1000)], ['cpu', 'cpu'], 'no GPU worker: large jobs run on CPU');
  await serving(false, true);
  assert.deepEqual([await route(999), await route(1000)], ['gpu', 'gpu'], 'no CPU worker: the GPU worker takes small jobs too');
  await serving(false, false);
  assert.deepEqual([await route(999), await route(1000)], ['cpu', 'gpu'], 'no worker at all: each waits in its own queue');
});
