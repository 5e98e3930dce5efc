/**
 * The reliability suite of issue 15, against the real Redis and real API and worker processes (the stand-in
 * pipeline of test/fixtures/service/fake-processor.ts unless a test needs the real one): one test per failure
 * the issue lists, each of which failed on the code before it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import tar from 'tar-stream';
import { startApi, type RunningApi } from '../../src/api/app.js';
import { loadConfig, type ServiceConfig } from '../../src/config.js';
import { startWorker, type RunningWorker } from '../../src/queue/worker.js';
import { FIXTURES, TENX_H5, TERMINAL, bearer, cleanup, dataDirOf, endedJobFolder, newKey, pollJob, submit, testConfig, upload, type JobJson } from '../service/helpers.js';
import { childPids, kill, sleep, spawnApi, spawnWorker, tarGzBomb, until, zipBomb, type ApiProcess } from './harness.js';

const ended = (job: JobJson) => TERMINAL.includes(job.state);

/** A config, an in-process API on it, a user and the 12-cell dataset uploaded; torn down after the describe. */
function service(env: Record<string, string> = {}) {
  const s = {} as { config: ServiceConfig; api: RunningApi; key: string; datasetId: string };
  before(async () => {
    s.config = await testConfig({ WORKER_LOCK_MS: '1500', WORKER_STALLED_CHECK_MS: '500', ...env });
    s.api = await startApi(s.config, { eventsPollMs: 100 });
    s.key = await newKey(s.config, 'alice');
    const response = await upload(s.api.url, s.key, TENX_H5);
    assert.equal(response.status, 201, await response.clone().text());
    s.datasetId = ((await response.json()) as { id: string }).id;
  });
  after(async () => {
    await s.api.stop();
    await cleanup(s.config);
  });
  return s;
}

async function submitted(s: { api: RunningApi; key: string; datasetId: string }, params: Record<string, unknown>): Promise<JobJson> {
  const response = await submit(s.api.url, s.key, { dataset_id: s.datasetId, params });
  assert.equal(response.status, 202, await response.clone().text());
  return (await response.json()) as JobJson;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  await kill(child, 'SIGTERM');
}

describe('1. a job that breaks its process does not poison the worker', () => {
  const s = service({ JOB_ATTEMPTS: '1' });
  test('the poisoning job fails; the next good job on the same worker completes', async () => {
    const worker = await spawnWorker(s.config, { JOB_ATTEMPTS: '1' });
    try {
      const poison = await pollJob(s.api.url, s.key, (await submitted(s, { seed: 15, epochs: 2 })).id, ended);
      const good = await pollJob(s.api.url, s.key, (await submitted(s, { epochs: 2 })).id, ended);
      assert.equal(good.state, 'COMPLETE', JSON.stringify(good));
      assert.equal(poison.state, 'SYSTEM_ERROR');
      assert.match(poison.error!.message, /memory access out of bounds/);
    } finally {
      await stopWorker(worker);
    }
  });
});

describe('2. children killed during a job and its retry do not wedge the worker', () => {
  const s = service({ JOB_ATTEMPTS: '3' });
  test('two child kills in a row, then the job and a good job complete on the same worker, which stops on SIGTERM', async () => {
    const worker = await spawnWorker(s.config, { JOB_ATTEMPTS: '3' });
    try {
      const job = await submitted(s, { epochs: 40 });
      await pollJob(s.api.url, s.key, job.id, (j) => (j.progress?.epoch ?? 0) >= 2);
      const first = await until(() => childPids(worker.pid!)[0], 'the first child');
      process.kill(first, 'SIGKILL');
      // The retry's child is killed as soon as it exists, while it starts.
      const second = await until(() => childPids(worker.pid!).find((pid) => pid !== first), 'the retry child', { everyMs: 10, rounds: 3000 });
      process.kill(second, 'SIGKILL');
      const done = await pollJob(s.api.url, s.key, job.id, ended);
      assert.equal(done.state, 'COMPLETE', JSON.stringify(done));
      const good = await pollJob(s.api.url, s.key, (await submitted(s, { epochs: 2 })).id, ended);
      assert.equal(good.state, 'COMPLETE', JSON.stringify(good));
      assert.equal((await fetch(`${s.api.url}/readyz`)).status, 200);
    } finally {
      worker.kill('SIGTERM');
      const exited = await Promise.race([once(worker, 'exit').then(([code]) => code as number | null), sleep(30_000).then(() => 'still running')]);
      if (exited === 'still running') await kill(worker);
      assert.equal(exited, 0, 'SIGTERM stops the worker');
    }
  });
});

describe('3. a job survives JOB_MAX_STALLS worker crashes, counted apart from JOB_ATTEMPTS', () => {
  const s = service({ JOB_ATTEMPTS: '2', JOB_MAX_STALLS: '3' });
  test('three kill -9s of its worker, then it completes', async () => {
    const job = await submitted(s, { epochs: 60 });
    let startedAt: unknown;
    for (let kills = 0; kills < 3; kills++) {
      const worker = await spawnWorker(s.config, { JOB_ATTEMPTS: '2', JOB_MAX_STALLS: '3' });
      const running = await pollJob(s.api.url, s.key, job.id, (j) => j.state === 'RUNNING' && j.started_at !== startedAt && (j.progress?.epoch ?? 0) >= 1);
      startedAt = running.started_at;
      await kill(worker);
    }
    const last = await spawnWorker(s.config, { JOB_ATTEMPTS: '2', JOB_MAX_STALLS: '3', FAKE_EPOCH_MS: '5' });
    try {
      const done = await pollJob(s.api.url, s.key, job.id, ended);
      assert.equal(done.state, 'COMPLETE', JSON.stringify(done));
      assert.equal(done.attempts.made, 4);
    } finally {
      await stopWorker(last);
    }
  });
});

describe('4. decompression bombs are refused without unpacking them in the API', () => {
  let config: ServiceConfig;
  let api: ApiProcess;
  let key: string;
  before(async () => {
    config = await testConfig();
    api = await spawnApi(config);
    key = await newKey(config, 'alice');
  });
  after(async () => {
    await kill(api.child, 'SIGTERM');
    await cleanup(config);
  });

  test('a zip and a tar.gz of 1 GiB of zeros: 422 naming the bomb, API RSS below 400 MB, /healthz prompt throughout', async () => {
    assert.equal((await fetch(`${api.url}/healthz`)).status, 200, 'warm-up');
    // Built before polling starts: making them blocks this process, which would count against the API.
    const bombs = [['bomb.zip', zipBomb()], ['bomb.tar.gz', tarGzBomb()]] as const;
    let slowest = 0;
    let polling = true;
    const healthz = (async () => {
      while (polling) {
        const t0 = performance.now();
        assert.equal((await fetch(`${api.url}/healthz`)).status, 200);
        slowest = Math.max(slowest, performance.now() - t0);
        await sleep(20);
      }
    })();
    try {
      for (const [name, bytes] of bombs) {
        const response = await upload(api.url, key, name, bytes);
        const body = (await response.json()) as { detail: string };
        assert.ok([413, 422].includes(response.status), `${name}: ${response.status} ${JSON.stringify(body)}`);
        assert.match(body.detail, /decompression bomb|unpacks to/, name);
      }
    } finally {
      polling = false;
      await healthz;
    }
    const status = await readFile(`/proc/${api.child.pid}/status`, 'utf8');
    const peakMb = Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
    assert.ok(peakMb < 400, `API peak RSS ${peakMb.toFixed(0)} MB`);
    assert.ok(slowest < 100, `slowest /healthz ${slowest.toFixed(0)} ms`);
    process.stdout.write(`# bombs: API peak RSS ${peakMb.toFixed(0)} MB, slowest /healthz ${slowest.toFixed(1)} ms\n`);
  });
});

describe('5. inspections are capped at INSPECT_CONCURRENCY', () => {
  let config: ServiceConfig;
  let api: ApiProcess;
  let key: string;
  before(async () => {
    config = await testConfig();
    api = await spawnApi(config, { INSPECT_CONCURRENCY: '2' });
    key = await newKey(config, 'alice');
  });
  after(async () => {
    await kill(api.child, 'SIGTERM');
    await cleanup(config);
  });

  test('20 parallel uploads above 8 MiB: never more than 2 inspectors; the rest 503 with Retry-After', async () => {
    const archive = await mtxTar(['AAAC', 'AAAG', 'AAAT'], 8.5 * 1024 ** 2);
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, childPids(api.child.pid!, /inspect-child/).length);
        await sleep(25);
      }
    })();
    const responses = await Promise.all(Array.from({ length: 20 }, () => upload(api.url, key, 'big.tar', archive)));
    sampling = false;
    await sampler;
    const statuses = responses.map((r) => r.status);
    assert.ok(most >= 1 && most <= 2, `at most 2 inspectors at once, saw ${most}`);
    assert.ok(statuses.every((status) => status === 201 || status === 503), statuses.join(' '));
    assert.ok(statuses.filter((status) => status === 201).length >= 2, statuses.join(' '));
    for (const response of responses.filter((r) => r.status === 503)) assert.ok(Number(response.headers.get('retry-after')) > 0);
  });
});

/** A Redis of its own on a free port, without persistence, that the test can restart empty. */
async function privateRedis(): Promise<{ url: string; restart(): Promise<void>; stop(): Promise<void> }> {
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as { port: number };
      server.close(() => resolve(free));
    });
  });
  let child: ChildProcess;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await until(async () => {
      const probe = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
      probe.on('error', () => undefined);
      const up = await probe.connect().then(() => probe.ping(), () => undefined);
      probe.disconnect();
      return up;
    }, 'redis-server');
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    restart: async () => {
      await kill(child);
      await start();
    },
    stop: () => kill(child),
  };
}

describe('6. an ended job stays ended, whatever happens to Redis', { skip: !existsSync('/usr/bin/redis-server') && 'needs redis-server' }, () => {
  test('Redis restarted empty under a running job: the job never shows an end that later changes, and completes', async () => {
    const redis = await privateRedis();
    const config = await testConfig({ REDIS_URL: redis.url, JOB_ATTEMPTS: '2' });
    const api = await startApi(config);
    const key = await newKey(config, 'alice');
    const worker = await spawnWorker(config, { FAKE_EPOCH_MS: '100' });
    try {
      const datasetId = ((await (await upload(api.url, key, TENX_H5)).json()) as { id: string }).id;
      const job = (await (await submit(api.url, key, { dataset_id: datasetId, params: { epochs: 40 } })).json()) as JobJson;
      await pollJob(api.url, key, job.id, (j) => (j.progress?.epoch ?? 0) >= 3);
      // The user's key lives in Redis too: it is carried over the restart, which loses everything else.
      const client = new Redis(redis.url);
      const userKeys = (await client.keys(`${config.redisPrefix}:*`)).filter((k) => /:(user|apikey):/.test(k));
      const saved = await Promise.all(userKeys.map(async (k) => [k, await client.dumpBuffer(k)] as const));
      client.disconnect();
      await redis.restart();
      const restored = new Redis(redis.url);
      for (const [k, dump] of saved) await restored.restore(k, 0, dump!);
      restored.disconnect();

      const seen: string[] = [];
      const done = await until(async () => {
        const response = await fetch(`${api.url}/v1/jobs/${job.id}`, { headers: bearer(key) });
        if (response.status !== 200) return undefined;
        const view = (await response.json()) as JobJson;
        if (seen.at(-1) !== view.state) seen.push(view.state);
        return ended(view) ? view : undefined;
      }, 'the job to end', { everyMs: 100, rounds: 600 });
      assert.equal(done.state, 'COMPLETE', `states seen: ${seen.join(' -> ')}`);
      await sleep(1500);
      const later = (await (await fetch(`${api.url}/v1/jobs/${job.id}`, { headers: bearer(key) })).json()) as JobJson;
      assert.equal(later.state, 'COMPLETE', `states seen: ${seen.join(' -> ')} -> ${later.state}`);
    } finally {
      await stopWorker(worker);
      await api.stop();
      await cleanup(config);
      await redis.stop();
    }
  });
});

describe('7. errors have the right class', () => {
  const s = service({ JOB_ATTEMPTS: '2' });
  let worker: RunningWorker;
  before(async () => {
    // The real pipeline: the checks are its own.
    worker = await startWorker(s.config);
  });
  after(async () => {
    await worker.stop();
  });

  test('n_clusters above the number of cells: EXECUTOR_ERROR naming n_clusters, not retried', async () => {
    const params = { n_clusters: 50, epochs: 1, min_genes: 0, min_cells: 0, flavor: 'seurat' };
    const done = await pollJob(s.api.url, s.key, (await submitted(s, params)).id, ended, { rounds: 1200 });
    assert.equal(done.state, 'EXECUTOR_ERROR', JSON.stringify(done));
    assert.match(done.error!.message, /n_clusters/);
    assert.equal(done.attempts.made, 1);
  });

  test('target_sum 1e400 fails validation (422 naming it)', async () => {
    const response = await fetch(`${s.api.url}/v1/jobs`, {
      method: 'POST',
      headers: { ...bearer(s.key), 'content-type': 'application/json' },
      body: `{"dataset_id":"${s.datasetId}","params":{"target_sum":1e400}}`,
    });
    assert.equal(response.status, 422);
    assert.match(((await response.json()) as { detail: string }).detail, /target_sum/);
  });

  test('malformed multipart (no boundary; cut before the closing boundary): 400 problem+json', async () => {
    const noBoundary = await fetch(`${s.api.url}/v1/datasets`, { method: 'POST', headers: { ...bearer(s.key), 'content-type': 'multipart/form-data' }, body: 'x' });
    assert.equal(noBoundary.status, 400, await noBoundary.clone().text());
    assert.equal(noBoundary.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const body = '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.h5"\r\nContent-Type: application/octet-stream\r\n\r\nsome bytes but no end';
    const cut = await fetch(`${s.api.url}/v1/datasets`, { method: 'POST', headers: { ...bearer(s.key), 'content-type': 'multipart/form-data; boundary=XyZ' }, body });
    assert.equal(cut.status, 400, await cut.clone().text());
    assert.deepEqual(await readdir(join(dataDirOf(s.config), 'tmp')), []);
  });

  test('a full disk: 507 problem+json, nothing left behind', async (t) => {
    const dataDir = join(dataDirOf(s.config), 'small-disk');
    await mkdir(dataDir);
    const mount = spawn('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dataDir], { stdio: 'ignore' });
    const [code] = await once(mount, 'exit');
    if (code !== 0) return t.skip('mounting a 1 MB tmpfs needs root');
    const small = loadConfig({ DATA_DIR: dataDir, REDIS_PREFIX: s.config.redisPrefix, LOG_LEVEL: 'silent', PORT: '0' });
    const api = await startApi(small);
    try {
      const response = await upload(api.url, s.key, 'big.h5ad', new Uint8Array(4 * 1024 ** 2));
      assert.equal(response.status, 507, await response.clone().text());
      assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.deepEqual(await readdir(join(dataDir, 'tmp')), []);
    } finally {
      await api.stop();
      await once(spawn('umount', [dataDir], { stdio: 'ignore' }), 'exit');
    }
  });

  test('a one-cell dataset fails naming the cell count, not QC', async () => {
    const response = await upload(s.api.url, s.key, 'one-cell.tar', await mtxTar(['AAAC']));
    assert.equal(response.status, 201, await response.clone().text());
    const datasetId = ((await response.json()) as { id: string }).id;
    const job = (await (await submit(s.api.url, s.key, { dataset_id: datasetId, params: { epochs: 1, min_genes: 0 } })).json()) as JobJson;
    const done = await pollJob(s.api.url, s.key, job.id, ended, { rounds: 1200 });
    assert.equal(done.state, 'EXECUTOR_ERROR', JSON.stringify(done));
    assert.match(done.error!.message, /1 cell/);
    assert.doesNotMatch(done.error!.message, /QC|loosen/);
  });
});

/** An uncompressed tar of a 10x MTX folder with `barcodes` cells x 3 genes, padded with a skipped `._pad` entry to `padTo` bytes. */
async function mtxTar(barcodes: string[], padTo = 0): Promise<Buffer> {
  const pack = tar.pack();
  const lines = barcodes.map((_, i) => `1 ${i + 1} ${i + 3}`);
  pack.entry({ name: 'mtx/matrix.mtx' }, `%%MatrixMarket matrix coordinate integer general\n3 ${barcodes.length} ${lines.length}\n${lines.join('\n')}\n`);
  pack.entry({ name: 'mtx/barcodes.tsv' }, `${barcodes.join('\n')}\n`);
  pack.entry({ name: 'mtx/genes.tsv' }, 'g1\tG1\ng2\tG2\ng3\tG3\n');
  if (padTo > 0) pack.entry({ name: 'mtx/._pad' }, Buffer.alloc(padTo));
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Starts a multipart upload of `total` bytes that sends 64 KiB every `everyMs`, until the server closes or answers. */
function slowUpload(url: string, key: string, total: number, everyMs: number) {
  const boundary = 'SlowBoundary';
  const req = request(`${url}/v1/datasets`, {
    method: 'POST',
    headers: { ...bearer(key), 'content-type': `multipart/form-data; boundary=${boundary}` },
  });
  req.on('error', () => undefined);
  req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.h5ad"\r\n\r\n`);
  let sent = 0;
  const timer = setInterval(() => {
    if (sent >= total || req.destroyed) return clearInterval(timer);
    req.write(Buffer.alloc(64 * 1024));
    sent += 64 * 1024;
  }, everyMs);
  const response = new Promise<number>((resolve) => req.on('response', (res) => {
    res.resume();
    resolve(res.statusCode ?? 0);
  }));
  return { response, sent: () => sent, stop: () => (clearInterval(timer), req.destroy()) };
}

describe('8. leftovers', () => {
  test('a partial upload of a killed API is removed when an API starts', async () => {
    const config = await testConfig();
    const key = await newKey(config, 'alice');
    const api = await spawnApi(config);
    const slow = slowUpload(api.url, key, 64 * 1024 ** 2, 20);
    try {
      await until(async () => ((await readdir(join(dataDirOf(config), 'tmp'))).length > 0 ? true : undefined), 'the partial upload');
      await kill(api.child);
      assert.equal((await readdir(join(dataDirOf(config), 'tmp'))).length, 1);
      const next = await startApi(config);
      await next.stop();
      assert.deepEqual(await readdir(join(dataDirOf(config), 'tmp')), []);
    } finally {
      slow.stop();
      await cleanup(config);
    }
  });

  test('a failed attempt leaves no empty attempt folder', async () => {
    const config = await testConfig();
    const api = await startApi(config);
    const key = await newKey(config, 'alice');
    const worker = await startWorker(config, { processorFile: new URL('fake-processor.ts', FIXTURES) });
    try {
      const datasetId = ((await (await upload(api.url, key, TENX_H5)).json()) as { id: string }).id;
      const job = (await (await submit(api.url, key, { dataset_id: datasetId, params: { condition_keys: ['missing_column'] } })).json()) as JobJson;
      const done = await pollJob(api.url, key, job.id, ended);
      assert.equal(done.state, 'EXECUTOR_ERROR');
      assert.deepEqual(await endedJobFolder(config, job.id), ['job.json', 'outcome.json']);
    } finally {
      await worker.stop();
      await api.stop();
      await cleanup(config);
    }
  });

  test('an upload over the limit is answered 413 at once; SIGTERM stops the API promptly after an early answer while its client still sends', async () => {
    const config = await testConfig();
    const key = await newKey(config, 'alice');
    const api = await spawnApi(config, { UPLOAD_MAX_BYTES: '1M' });
    // 64 MB at 64 KiB per 20 ms: a client that would go on sending for about 20 s.
    const big = slowUpload(api.url, key, 64 * 1024 ** 2, 20);
    const refused = slowUpload(api.url, 'scg_not-a-key', 64 * 1024 ** 2, 20);
    try {
      assert.equal(await big.response, 413);
      assert.ok(big.sent() < 16 * 1024 ** 2, `413 after ${big.sent()} bytes`);
      assert.equal(await refused.response, 401);
      const t0 = performance.now();
      await kill(api.child, 'SIGTERM');
      const seconds = (performance.now() - t0) / 1000;
      assert.ok(seconds < 8, `the API took ${seconds.toFixed(1)} s to stop`);
    } finally {
      big.stop();
      refused.stop();
      await cleanup(config);
    }
  });
});

describe('9. the smaller items', () => {
  const s = service({ JOB_ATTEMPTS: '2', JOB_BACKOFF_MS: '3000' });

  test('a second file part: 400; JSON to POST /v1/datasets: 415', async () => {
    const form = new FormData();
    const bytes = await readFile(TENX_H5);
    form.append('file', new Blob([bytes]), 'a.h5');
    form.append('other', new Blob([bytes]), 'b.h5');
    const two = await fetch(`${s.api.url}/v1/datasets`, { method: 'POST', headers: bearer(s.key), body: form });
    assert.equal(two.status, 400, await two.clone().text());
    assert.match(((await two.json()) as { detail: string }).detail, /one file/);
    const json = await fetch(`${s.api.url}/v1/datasets`, { method: 'POST', headers: { ...bearer(s.key), 'content-type': 'application/json' }, body: '{}' });
    assert.equal(json.status, 415, await json.clone().text());
    assert.deepEqual(await readdir(join(dataDirOf(s.config), 'tmp')), []);
  });

  test('cancel with a JSON content type and no body is accepted', async () => {
    const job = await submitted(s, { epochs: 2 });
    const response = await fetch(`${s.api.url}/v1/jobs/${job.id}/cancel`, { method: 'POST', headers: { ...bearer(s.key), 'content-type': 'application/json' } });
    assert.equal(response.status, 202, await response.clone().text());
  });

  test('a requeued job does not show the previous attempt\'s progress', async () => {
    const worker = await startWorker(s.config, { processorFile: new URL('fake-processor.ts', FIXTURES) });
    try {
      const job = await submitted(s, { seed: 16, epochs: 6 });
      const retrying = await pollJob(s.api.url, s.key, job.id, (j) => (j.attempts.made === 1 && j.state === 'QUEUED') || ended(j));
      assert.equal(retrying.state, 'QUEUED');
      assert.equal(retrying.progress, null, JSON.stringify(retrying.progress));
      const done = await pollJob(s.api.url, s.key, job.id, ended);
      assert.equal(done.state, 'COMPLETE', JSON.stringify(done));
    } finally {
      await worker.stop();
    }
  });

  test('an API key in ?api_key= is refused and never logged', async () => {
    const config = await testConfig();
    const key = await newKey(config, 'alice');
    const api = await spawnApi(config, { LOG_LEVEL: 'info' });
    try {
      const response = await fetch(`${api.url}/v1/datasets?api_key=${encodeURIComponent(key)}`);
      assert.equal(response.status, 400);
      assert.match(((await response.json()) as { detail: string }).detail, /Authorization header/);
      await sleep(200);
      assert.match(api.log(), /api_key=%5Bredacted%5D|api_key=\[redacted\]/);
      assert.ok(!api.log().includes(key) && !api.log().includes(encodeURIComponent(key)), 'the key is not in the log');
    } finally {
      await kill(api.child, 'SIGTERM');
      await cleanup(config);
    }
  });
});

describe('watchdog and readiness', () => {
  const s = service({ JOB_ATTEMPTS: '1', JOB_PROGRESS_TIMEOUT_MS: '1500' });

  test('a job whose process sends nothing for JOB_PROGRESS_TIMEOUT_MS is stopped and fails, never left RUNNING', async () => {
    const worker = await startWorker(s.config, { processorFile: new URL('fake-processor.ts', FIXTURES) });
    try {
      const done = await pollJob(s.api.url, s.key, (await submitted(s, { seed: 17, epochs: 2 })).id, ended);
      assert.equal(done.state, 'SYSTEM_ERROR');
      assert.match(done.error!.message, /sent nothing for 1.5 s/);
      const good = await pollJob(s.api.url, s.key, (await submitted(s, { epochs: 2 })).id, ended);
      assert.equal(good.state, 'COMPLETE');
    } finally {
      await worker.stop();
    }
  });

  test('a worker whose job processes cannot start reports not ready and takes no job', async () => {
    const worker = await startWorker(s.config, { processorFile: new URL('broken-processor.ts', FIXTURES) });
    try {
      const ready = await fetch(`${s.api.url}/readyz`);
      assert.equal(ready.status, 503, await ready.clone().text());
      const job = await submitted(s, { epochs: 2 });
      await sleep(1000);
      const view = (await (await fetch(`${s.api.url}/v1/jobs/${job.id}`, { headers: bearer(s.key) })).json()) as JobJson;
      assert.equal(view.state, 'QUEUED');
    } finally {
      await worker.stop();
    }
  });
});
