/**
 * Workers against the real Redis with a stand-in pipeline (test/fixtures/service/fake-processor.ts): progress,
 * results, events, input errors, retries, cancel, kill -9 and SIGTERM. The real pipeline: e2e.test.ts.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startApi, type RunningApi } from '../../src/api/app.js';
import type { ServiceConfig } from '../../src/config.js';
import { resultFileNames } from '../../src/pipeline/result-files.js';
import { startWorker, type RunningWorker } from '../../src/queue/worker.js';
import { spawnWorker as spawnWorkerProcess } from '../reliability/harness.js';
import { FAKE_PROCESSOR, TENX_H5, TERMINAL, bearer, cleanup, dataDirOf, endedJobFolder, newKey, pollJob, submit, testConfig, upload, type JobJson } from './helpers.js';

const WORKER_ENV = { WORKER_LOCK_MS: '1500', WORKER_STALLED_CHECK_MS: '500', JOB_ATTEMPTS: '2' };
let config: ServiceConfig;
let api: RunningApi;
let key: string;
let datasetId: string;

before(async () => {
  process.env.FAKE_EPOCH_MS = '100';
  config = await testConfig(WORKER_ENV);
  api = await startApi(config, { eventsPollMs: 100 });
  key = await newKey(config, 'alice');
  datasetId = ((await (await upload(api.url, key, TENX_H5)).json()) as { id: string }).id;
});

after(async () => {
  await api.stop();
  await cleanup(config);
});

async function submitted(params: Record<string, unknown>): Promise<JobJson> {
  const response = await submit(api.url, key, { dataset_id: datasetId, params });
  assert.equal(response.status, 202, await response.clone().text());
  return (await response.json()) as JobJson;
}

const ended = (job: JobJson) => TERMINAL.includes(job.state);

/** The job's folder holds its record, its outcome and the one attempt that finished; its scratch folder is gone. */
async function assertPublishedOnce(jobId: string): Promise<void> {
  const jobDir = join(dataDirOf(config), 'jobs', jobId);
  assert.deepEqual(await endedJobFolder(config, jobId), ['attempts', 'job.json', 'outcome.json']);
  assert.equal((await readdir(join(jobDir, 'attempts'))).length, 1, 'killed attempts leave nothing');
  const scratch = await readdir(config.scratchDir).catch((): string[] => []);
  assert.ok(!scratch.includes(jobId), 'the scratch folder is removed');
}

describe('an in-process worker', () => {
  let worker: RunningWorker;
  before(async () => {
    worker = await startWorker(config, { processorFile: FAKE_PROCESSOR });
  });
  after(async () => {
    await worker.stop();
  });

  test('runs a job to COMPLETE, reporting progress; every result file, per-condition UMAPs too, is linked and downloads with its content type', async () => {
    const job = await submitted({ epochs: 8, condition_keys: ['cell line'] });
    const running = await pollJob(api.url, key, job.id, (j) => j.state === 'RUNNING' || ended(j));
    assert.equal(running.state, 'RUNNING');
    assert.ok(running.progress && running.progress.overall > 0);
    const done = await pollJob(api.url, key, job.id, ended);
    assert.equal(done.state, 'COMPLETE', JSON.stringify(done));
    assert.deepEqual(done.attempts, { made: 1, max: 2 });
    assert.ok(done.links.results?.['cells.csv']);

    const csv = await fetch(`${api.url}${done.links.results!['cells.csv']}`, { headers: bearer(key) });
    assert.equal(csv.status, 200);
    assert.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.equal(csv.headers.get('content-disposition'), `attachment; filename="${job.id}-cells.csv"`);
    assert.equal(await csv.text(), 'cell,cluster\nc1,0\nc2,1\n');
    assert.deepEqual(Object.keys(done.links.results!), resultFileNames(['cell line']));
    assert.ok(done.links.results!['umap_cell_line.png']);
    for (const name of ['umap.png', 'umap_cell_line.png']) {
      const png = await fetch(`${api.url}${done.links.results![name]}`, { headers: bearer(key) });
      assert.equal(png.status, 200, name);
      assert.equal(png.headers.get('content-type'), 'image/png');
      await png.arrayBuffer();
    }
    await assertPublishedOnce(job.id);

    const ready = await fetch(`${api.url}/readyz`);
    assert.equal(ready.status, 200);
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    assert.match(metrics, /^scgmdvae_job_duration_seconds_count\{state="COMPLETE"\} [1-9]/m);
  });

  test('streams progress as Server-Sent Events until the job ends', async () => {
    const job = await submitted({ epochs: 6 });
    const response = await fetch(`${api.url}/v1/jobs/${job.id}/events`, { headers: bearer(key) });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const text = await response.text();
    const events = text
      .split('\n\n')
      .filter((block) => block.includes('event: status'))
      .map((block) => JSON.parse(block.split('\n').find((line) => line.startsWith('data: '))!.slice(6)) as JobJson);
    assert.ok(events.length >= 2, text);
    assert.equal(events.at(-1)!.state, 'COMPLETE');
    assert.ok(events.some((e) => e.progress?.epoch !== undefined), 'training epochs are reported');
  });

  test('bad input ends in EXECUTOR_ERROR at once, naming the column, without a retry', async () => {
    const job = await submitted({ condition_keys: ['missing_column'], epochs: 3 });
    const done = await pollJob(api.url, key, job.id, ended);
    assert.equal(done.state, 'EXECUTOR_ERROR');
    assert.equal(done.error?.kind, 'DatasetError');
    assert.match(done.error!.message, /missing_column/);
    assert.equal(done.attempts.made, 1);
    const results = await fetch(`${api.url}/v1/jobs/${job.id}/results/cells.csv`, { headers: bearer(key) });
    assert.equal(results.status, 409);
  });

  test('a system failure is retried, and the retry completes', async () => {
    const done = await pollJob(api.url, key, (await submitted({ seed: 13, epochs: 2 })).id, ended);
    assert.equal(done.state, 'COMPLETE', JSON.stringify(done));
    assert.equal(done.attempts.made, 2);
  });

  test('a failure on every attempt ends in SYSTEM_ERROR with the error kept', async () => {
    const done = await pollJob(api.url, key, (await submitted({ seed: 14, epochs: 2 })).id, ended);
    assert.equal(done.state, 'SYSTEM_ERROR');
    assert.deepEqual(done.error, { kind: 'RangeError', message: 'simulated device failure' });
    assert.equal(done.attempts.made, 2);
  });

  test('canceling a running job stops its training and ends it CANCELED, not retried', async () => {
    const job = await submitted({ epochs: 500 });
    const running = await pollJob(api.url, key, job.id, (j) => (j.progress?.epoch ?? 0) >= 2 || ended(j));
    assert.equal(running.state, 'RUNNING');
    const cancel = await fetch(`${api.url}/v1/jobs/${job.id}/cancel`, { method: 'POST', headers: bearer(key) });
    assert.equal(cancel.status, 202);
    assert.ok(['CANCELING', 'CANCELED'].includes(((await cancel.json()) as JobJson).state));
    const done = await pollJob(api.url, key, job.id, ended);
    assert.equal(done.state, 'CANCELED');
    assert.ok((done.progress?.epoch ?? 0) < 500, 'training stopped early');
    assert.equal(done.attempts.made, 1);
    assert.equal(done.links.results, undefined);
    const again = await fetch(`${api.url}/v1/jobs/${job.id}/cancel`, { method: 'POST', headers: bearer(key) });
    assert.equal(again.status, 202, 'canceling twice is harmless');
  });
});

/** A worker in its own process, so it can be killed; resolves once it listens to the queue. */
const spawnWorker = (env: Record<string, string>) => spawnWorkerProcess(config, { ...WORKER_ENV, ...env });

describe('worker processes', () => {
  test('kill -9 mid-training: the job runs again on another worker; SIGTERM hands it back; it completes, nothing lost', async () => {
    const killed = await spawnWorker({ FAKE_EPOCH_MS: '100' });
    const job = await submitted({ epochs: 60 });
    const first = await pollJob(api.url, key, job.id, (j) => (j.progress?.epoch ?? 0) >= 2);
    killed.kill('SIGKILL');
    await once(killed, 'exit');

    // The lock of the killed worker expires, the next worker's stalled check moves the job back, and it runs again.
    const stopped = await spawnWorker({ FAKE_EPOCH_MS: '100', WORKER_SHUTDOWN_GRACE_MS: '300' });
    const again = await pollJob(api.url, key, job.id, (j) => {
      const progress = j.progress as { epoch?: number; updated_at?: string } | null;
      return j.started_at !== first.started_at && (progress?.epoch ?? 0) >= 2 && progress!.updated_at! > (j.started_at as string);
    });
    assert.equal(again.state, 'RUNNING');
    assert.equal(again.attempts.made, 2);
    stopped.kill('SIGTERM');
    const [code] = await once(stopped, 'exit');
    assert.equal(code, 0, 'SIGTERM ends the worker cleanly within the grace time');
    const released = await pollJob(api.url, key, job.id, (j) => j.state !== 'RUNNING');
    assert.equal(released.state, 'QUEUED', JSON.stringify(released));

    const last = await spawnWorker({ FAKE_EPOCH_MS: '5' });
    try {
      const done = await pollJob(api.url, key, job.id, ended);
      assert.equal(done.state, 'COMPLETE', JSON.stringify(done));
      assert.equal(done.attempts.made, 3);
      const csv = await fetch(`${api.url}/v1/jobs/${job.id}/results/cells.csv`, { headers: bearer(key) });
      assert.equal(await csv.text(), 'cell,cluster\nc1,0\nc2,1\n');
      await assertPublishedOnce(job.id);
      assert.equal((await fetch(`${api.url}/v1/datasets/${datasetId}`, { headers: bearer(key) })).status, 200);
    } finally {
      last.kill('SIGTERM');
      await once(last, 'exit');
    }
  });
});
