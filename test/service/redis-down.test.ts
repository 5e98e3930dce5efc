/**
 * Redis outage, on a throwaway redis-server of this test's own (the shared one on 6379 is never touched):
 * submissions answer 503 problem+json at once, the API stays up, and it recovers when Redis returns.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { startApi, type RunningApi } from '../../src/api/app.js';
import type { ServiceConfig } from '../../src/config.js';
import { TENX_H5, bearer, cleanup, newKey, submit, testConfig, upload } from './helpers.js';

let port: number;
let redis: ChildProcess | undefined;
let config: ServiceConfig;
let api: RunningApi;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port: found } = server.address() as { port: number };
  server.close();
  return found;
}

async function startRedis(): Promise<void> {
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const client = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  for (let round = 0; round < 100; round++) {
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  client.disconnect();
}

async function stopRedis(): Promise<void> {
  if (!redis) return;
  const exited = once(redis, 'exit');
  redis.kill('SIGKILL');
  await exited;
  redis = undefined;
}

before(async () => {
  port = await freePort();
  await startRedis();
  config = await testConfig({ REDIS_URL: `redis://127.0.0.1:${port}` });
  api = await startApi(config);
});

after(async () => {
  await api.stop();
  await cleanup(config);
  await stopRedis();
});

test('Redis down: submissions answer 503 problem+json, the API stays up, and recovers when Redis returns', async () => {
  const key = await newKey(config, 'alice');
  const datasetId = ((await (await upload(api.url, key, TENX_H5)).json()) as { id: string }).id;

  const job = (await (await submit(api.url, key, { dataset_id: datasetId })).json()) as { id: string };

  await stopRedis();
  const poll = await fetch(`${api.url}/v1/jobs/${job.id}`, { headers: bearer(key), signal: AbortSignal.timeout(20_000) });
  assert.equal(poll.status, 503, 'polling fails fast too');
  await poll.arrayBuffer();
  const refused = await submit(api.url, key, { dataset_id: datasetId }, {});
  assert.equal(refused.status, 503, await refused.clone().text());
  assert.match(refused.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.ok(Number(refused.headers.get('retry-after')) > 0);
  const problem = (await refused.json()) as { status: number; detail: string };
  assert.equal(problem.status, 503);
  assert.match(problem.detail, /Redis/);

  assert.equal((await fetch(`${api.url}/healthz`)).status, 200, 'the process is alive');
  assert.equal((await fetch(`${api.url}/readyz`)).status, 503, 'but not ready');
  assert.match(await (await fetch(`${api.url}/metrics`)).text(), /^scgmdvae_redis_up 0$/m);

  // The throwaway Redis keeps nothing: the key is created anew once it is back; the API indexes the dataset's record again from the store.
  await startRedis();
  let status = 0;
  for (let round = 0; round < 100 && status !== 202; round++) {
    const again = await newKey(config, 'alice').then(
      (fresh) => submit(api.url, fresh, { dataset_id: datasetId }),
      () => undefined,
    );
    status = again?.status ?? 0;
    await again?.arrayBuffer();
    if (status !== 202) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal(status, 202);
});
