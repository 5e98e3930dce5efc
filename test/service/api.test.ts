/** The HTTP layer against the real Redis, without a worker: auth, uploads, submissions, polling, cancel, errors. */
import assert from 'node:assert/strict';
import http from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startApi, type RunningApi } from '../../src/api/app.js';
import type { ServiceConfig } from '../../src/config.js';
import { MTX_TARBALL, TENX_H5, bearer, cleanup, dataDirOf, newKey, submit, testConfig, upload, type JobJson } from './helpers.js';

let config: ServiceConfig;
let api: RunningApi;
let alice: string;
let bob: string;
let admin: string;

before(async () => {
  config = await testConfig({ UPLOAD_MAX_BYTES: '64K', SUBMIT_RATE_LIMIT: '8' });
  api = await startApi(config);
  [alice, bob, admin] = await Promise.all([newKey(config, 'alice'), newKey(config, 'bob'), newKey(config, 'root', true)]);
});

after(async () => {
  await api.stop();
  await cleanup(config);
});

async function problemOf(response: Response, status: number): Promise<{ title: string; detail: string; status: number; problems?: string[] }> {
  assert.equal(response.status, status, await response.clone().text());
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const body = (await response.json()) as { type: string; title: string; detail: string; status: number; instance: string; problems?: string[] };
  assert.equal(body.status, status);
  assert.equal(typeof body.type, 'string');
  assert.equal(typeof body.instance, 'string');
  return body;
}

async function leftovers(): Promise<string[]> {
  return readdir(join(dataDirOf(config), 'tmp'));
}

describe('auth', () => {
  test('no key or an unknown key answers 401 problem+json', async () => {
    const none = await fetch(`${api.url}/v1/datasets`);
    await problemOf(none, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    await problemOf(await fetch(`${api.url}/v1/jobs`, { headers: bearer('scg_not-a-key') }), 401);
  });

  test('health and docs need no key', async () => {
    assert.equal((await fetch(`${api.url}/healthz`)).status, 200);
    const spec = (await (await fetch(`${api.url}/docs/json`)).json()) as { paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };
    assert.ok(spec.paths['/v1/jobs'] && spec.paths['/v1/datasets/{id}'] && spec.paths['/v1/jobs/{id}/results/{name}']);
    assert.ok(spec.components.schemas.PipelineParams, 'the params schema is in the OpenAPI document');
    assert.match(JSON.stringify(spec.paths['/v1/jobs']), /PipelineParams/);
  });
});

describe('datasets', () => {
  let datasetId: string;

  test('an upload is stored, hashed and inspected', async () => {
    const response = await upload(api.url, alice, TENX_H5);
    assert.equal(response.status, 201, await response.clone().text());
    const body = (await response.json()) as { id: string; sha256: string; bytes: number; inspect: Record<string, unknown> };
    datasetId = body.id;
    assert.equal(response.headers.get('location'), `/v1/datasets/${body.id}`);
    const { createHash } = await import('node:crypto');
    const bytes = await readFile(TENX_H5);
    assert.equal(body.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(body.bytes, bytes.length);
    assert.deepEqual(
      { format: body.inspect.format, n_obs: body.inspect.n_obs, n_vars: body.inspect.n_vars, values: body.inspect.values },
      { format: '10x-h5-v2', n_obs: 12, n_vars: 343, values: 'counts' },
    );
    assert.deepEqual(await readFile(join(dataDirOf(config), 'datasets', body.id, 'data')), bytes);
  });

  test('an MTX folder uploaded as .tar.gz is detected from its content', async () => {
    const response = await upload(api.url, bob, MTX_TARBALL);
    assert.equal(response.status, 201, await response.clone().text());
    const body = (await response.json()) as { inspect: { format: string; n_obs: number } };
    assert.equal(body.inspect.format, '10x-mtx');
    assert.equal(body.inspect.n_obs, 5);
  });

  test('a file that is not a dataset answers 422 with the reader message, and nothing stays behind', async () => {
    const before = (await readdir(join(dataDirOf(config), 'datasets'))).length;
    const problem = await problemOf(await upload(api.url, alice, 'notes.txt', new TextEncoder().encode('hello, not a dataset\n')), 422);
    assert.match(problem.detail, /notes\.txt is not a dataset/);
    assert.doesNotMatch(problem.detail, /upload-/, 'the temporary path is not shown');
    assert.deepEqual(await leftovers(), []);
    assert.equal((await readdir(join(dataDirOf(config), 'datasets'))).length, before);
  });

  test('an upload over the limit answers 413 and leaves no partial file', async () => {
    const big = new Uint8Array(200 * 1024).fill(7);
    const problem = await problemOf(await upload(api.url, alice, 'big.h5ad', big), 413);
    assert.match(problem.detail, /upload limit/);
    assert.deepEqual(await leftovers(), []);
  });

  test('an upload the client abandons midway leaves no partial file', async () => {
    const boundary = 'scgmdvae-test-boundary';
    const request = http.request(`${api.url}/v1/datasets`, {
      method: 'POST',
      headers: { ...bearer(alice), 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(1024 * 1024) },
    });
    request.on('error', () => undefined);
    request.write(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="cut.h5ad"\r\n\r\n`);
    request.write(Buffer.alloc(16 * 1024, 1));
    let started = false;
    for (let round = 0; round < 100 && !started; round++) {
      started = (await leftovers()).length > 0;
      if (!started) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(started, 'the upload reached storage');
    request.destroy();
    let remaining = await leftovers();
    for (let round = 0; round < 100 && remaining.length > 0; round++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      remaining = await leftovers();
    }
    assert.deepEqual(remaining, []);
  });

  test('a multipart body without a file answers 400', async () => {
    const form = new FormData();
    form.append('note', 'no file here');
    await problemOf(await fetch(`${api.url}/v1/datasets`, { method: 'POST', headers: bearer(alice), body: form }), 400);
  });

  test("another user's dataset answers 404; an admin sees every dataset", async () => {
    assert.equal((await fetch(`${api.url}/v1/datasets/${datasetId}`, { headers: bearer(alice) })).status, 200);
    await problemOf(await fetch(`${api.url}/v1/datasets/${datasetId}`, { headers: bearer(bob) }), 404);
    await problemOf(await fetch(`${api.url}/v1/datasets/${datasetId}`, { method: 'DELETE', headers: bearer(bob) }), 404);
    const mine = (await (await fetch(`${api.url}/v1/datasets`, { headers: bearer(bob) })).json()) as { datasets: { owner: string }[] };
    assert.ok(mine.datasets.length >= 1 && mine.datasets.every((d) => d.owner === 'bob'));
    const all = (await (await fetch(`${api.url}/v1/datasets`, { headers: bearer(admin) })).json()) as { datasets: { owner: string }[] };
    assert.deepEqual(new Set(all.datasets.map((d) => d.owner)), new Set(['alice', 'bob']));
    assert.equal((await fetch(`${api.url}/v1/datasets/${datasetId}`, { headers: bearer(admin) })).status, 200);
  });

  test('an id that is not a UUID answers 400 problem+json', async () => {
    await problemOf(await fetch(`${api.url}/v1/datasets/..%2F..%2Fetc`, { headers: bearer(alice) }), 400);
  });
});

describe('jobs without a worker', () => {
  let datasetId: string;
  let job: JobJson;

  before(async () => {
    datasetId = ((await (await upload(api.url, alice, TENX_H5)).json()) as { id: string }).id;
  });

  test('bad parameters answer 422 naming each key', async () => {
    const problem = await problemOf(await submit(api.url, alice, { dataset_id: datasetId, params: { epochs: 0, colour: 'red' } }), 422);
    assert.ok(problem.problems?.some((p) => p.includes('epochs')));
    assert.ok(problem.problems?.some((p) => p.includes('colour')));
  });

  test('an unknown body field or a missing dataset_id answers 400', async () => {
    await problemOf(await submit(api.url, alice, { dataset_id: datasetId, extra: 1 }), 400);
    await problemOf(await submit(api.url, alice, { params: {} }), 400);
  });

  test('a body that is not JSON answers 400 problem+json', async () => {
    const response = await fetch(`${api.url}/v1/jobs`, { method: 'POST', headers: { ...bearer(alice), 'content-type': 'application/json' }, body: '{"dataset_id":' });
    await problemOf(response, 400);
  });

  test("a job on another user's dataset answers 404", async () => {
    await problemOf(await submit(api.url, bob, { dataset_id: datasetId }), 404);
  });

  test('a submission answers 202 with Location and Retry-After; the same Idempotency-Key returns the same job', async () => {
    const body = { dataset_id: datasetId, params: { epochs: 3 } };
    const first = await submit(api.url, alice, body, { 'idempotency-key': 'run-1' });
    assert.equal(first.status, 202, await first.clone().text());
    job = (await first.json()) as JobJson;
    assert.equal(first.headers.get('location'), `/v1/jobs/${job.id}`);
    assert.ok(Number(first.headers.get('retry-after')) > 0);
    assert.equal(job.state, 'QUEUED');
    assert.equal((job.params as { epochs: number }).epochs, 3);
    assert.equal((job.params as { n_clusters: unknown }).n_clusters, 'auto', 'defaults are filled in');

    const again = await submit(api.url, alice, body, { 'idempotency-key': 'run-1' });
    assert.equal(again.status, 202);
    assert.equal(((await again.json()) as JobJson).id, job.id);
    const changed = await submit(api.url, alice, { ...body, params: { epochs: 4 } }, { 'idempotency-key': 'run-1' });
    assert.match((await problemOf(changed, 422)).detail, /Idempotency-Key/);
  });

  test('polling answers an ETag, and 304 while nothing changed', async () => {
    const first = await fetch(`${api.url}/v1/jobs/${job.id}`, { headers: bearer(alice) });
    assert.equal(first.status, 200);
    const etag = first.headers.get('etag');
    assert.ok(etag);
    const second = await fetch(`${api.url}/v1/jobs/${job.id}`, { headers: { ...bearer(alice), 'if-none-match': etag } });
    assert.equal(second.status, 304);
    assert.equal(await second.text(), '');
  });

  test("another user's job answers 404 everywhere; an admin sees it", async () => {
    for (const path of ['', '/events', '/results/cells.csv']) {
      await problemOf(await fetch(`${api.url}/v1/jobs/${job.id}${path}`, { headers: bearer(bob) }), 404);
    }
    await problemOf(await fetch(`${api.url}/v1/jobs/${job.id}/cancel`, { method: 'POST', headers: bearer(bob) }), 404);
    assert.equal((await fetch(`${api.url}/v1/jobs/${job.id}`, { headers: bearer(admin) })).status, 200);
    const bobs = (await (await fetch(`${api.url}/v1/jobs`, { headers: bearer(bob) })).json()) as { jobs: JobJson[] };
    assert.equal(bobs.jobs.length, 0);
  });

  test('results of a job that is not complete answer 409; an unknown result name 400', async () => {
    await problemOf(await fetch(`${api.url}/v1/jobs/${job.id}/results/cells.csv`, { headers: bearer(alice) }), 409);
    await problemOf(await fetch(`${api.url}/v1/jobs/${job.id}/results/passwd`, { headers: bearer(alice) }), 400);
  });

  test('a dataset with a queued job cannot be deleted', async () => {
    await problemOf(await fetch(`${api.url}/v1/datasets/${datasetId}`, { method: 'DELETE', headers: bearer(alice) }), 409);
  });

  test('listing is newest first, paged with a cursor, filtered by state', async () => {
    const more: string[] = [];
    for (let i = 0; i < 3; i++) more.push(((await (await submit(api.url, alice, { dataset_id: datasetId })).json()) as JobJson).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const query: string = cursor ? `limit=2&cursor=${cursor}` : 'limit=2';
      const body = (await (await fetch(`${api.url}/v1/jobs?${query}`, { headers: bearer(alice) })).json()) as { jobs: JobJson[]; next_cursor: string | null };
      assert.ok(body.jobs.length <= 2);
      seen.push(...body.jobs.map((j) => j.id));
      cursor = body.next_cursor;
      if (!cursor) break;
    }
    assert.deepEqual(seen, [...more].reverse().concat(job.id));
    const queued = (await (await fetch(`${api.url}/v1/jobs?state=QUEUED`, { headers: bearer(alice) })).json()) as { jobs: JobJson[] };
    assert.equal(queued.jobs.length, 4);
    const none = (await (await fetch(`${api.url}/v1/jobs?state=COMPLETE`, { headers: bearer(alice) })).json()) as { jobs: JobJson[] };
    assert.equal(none.jobs.length, 0);
    await problemOf(await fetch(`${api.url}/v1/jobs?state=DONE`, { headers: bearer(alice) }), 400);
    for (const id of more) await fetch(`${api.url}/v1/jobs/${id}/cancel`, { method: 'POST', headers: bearer(alice) });
  });

  test('canceling a queued job ends it at once; the dataset can then be deleted', async () => {
    const response = await fetch(`${api.url}/v1/jobs/${job.id}/cancel`, { method: 'POST', headers: bearer(alice) });
    assert.equal(response.status, 202);
    assert.equal(((await response.json()) as JobJson).state, 'CANCELED');
    const canceled = (await (await fetch(`${api.url}/v1/jobs?state=CANCELED`, { headers: bearer(alice) })).json()) as { jobs: JobJson[] };
    assert.equal(canceled.jobs.length, 4);
    assert.equal((await fetch(`${api.url}/v1/datasets/${datasetId}`, { method: 'DELETE', headers: bearer(alice) })).status, 204);
    await problemOf(await fetch(`${api.url}/v1/datasets/${datasetId}`, { headers: bearer(alice) }), 404);
  });

  test('submissions beyond the per-key rate limit answer 429 with Retry-After', async () => {
    const id = ((await (await upload(api.url, bob, TENX_H5)).json()) as { id: string }).id;
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 10 && !limited; i++) {
      const response = await submit(api.url, bob, { dataset_id: id });
      statuses.push(response.status);
      if (response.status === 429) limited = response;
      else await response.arrayBuffer();
    }
    assert.ok(limited, `statuses: ${statuses}`);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    await problemOf(limited, 429);
  });
});

describe('operations', () => {
  test('/readyz answers 503 while no worker has been seen', async () => {
    await problemOf(await fetch(`${api.url}/readyz`), 503);
  });

  test('/metrics is Prometheus text with queue depth, durations and upload bytes', async () => {
    const response = await fetch(`${api.url}/metrics`);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    assert.match(text, /^scgmdvae_queue_jobs\{queue="cpu",state="waiting"\} \d+$/m);
    assert.match(text, /^scgmdvae_queue_jobs\{queue="gpu",state="waiting"\} \d+$/m);
    assert.match(text, /^scgmdvae_job_duration_seconds_bucket\{state="COMPLETE",le="\+Inf"\} \d+$/m);
    assert.match(text, /^scgmdvae_upload_bytes_total [1-9]\d*$/m);
    assert.match(text, /^scgmdvae_redis_up 1$/m);
  });

  test('every response carries a request id, and a sane client id is kept', async () => {
    const response = await fetch(`${api.url}/healthz`, { headers: { 'x-request-id': 'trace-42' } });
    assert.equal(response.headers.get('x-request-id'), 'trace-42');
  });
});
