/**
 * The routes the page explores a job with (/embedding, /genes, /expression) against the real Redis, on jobs whose
 * results are written into storage here: ownership as everywhere (404 for another user), 409 before COMPLETE,
 * 404 for an unknown gene or for results that predate the files, 400 for a bad query.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startApi, type RunningApi } from '../../src/api/app.js';
import type { ServiceConfig } from '../../src/config.js';
import { encodeEmbedding } from '../../src/io/embedding-file.js';
import { writeExpressionFile } from '../../src/io/expression-file.js';
import type { CsrMatrix } from '../../src/io/types.js';
import { writeFileAtomic } from '../../src/io/atomic.js';
import { bearer, cleanup, newKey, storeJob, testConfig } from './helpers.js';

let config: ServiceConfig;
let api: RunningApi;
let alice: string;
let bob: string;
let admin: string;

/** 4 cells x 3 genes; gene B is detected nowhere. */
const MATRIX: CsrMatrix = { nRows: 4, nCols: 3, indptr: Int32Array.from([0, 2, 3, 3, 5]), indices: Int32Array.from([0, 2, 0, 0, 2]), data: Float32Array.from([1.5, 2, 0.25, 3, 4]) };
const GENES = ['A', 'B', 'C/7 ü'];
const EMBEDDING = encodeEmbedding({ embedding: 'X_umap', coords: new Float32Array(8), barcodes: ['a', 'b', 'c', 'd'], columns: [] });

/** A job of alice's; with `files`, COMPLETE with embedding.bin and expression.bin among its results. */
function storedJob(state: 'COMPLETE' | 'RUNNING', files = true): Promise<string> {
  return storeJob(
    config,
    'alice',
    async (dir) => {
      await writeFileAtomic(join(dir, 'cells.csv'), 'barcode\n');
      if (files) {
        await writeFileAtomic(join(dir, 'embedding.bin'), EMBEDDING);
        await writeExpressionFile(join(dir, 'expression.bin'), MATRIX, GENES);
      }
    },
    state === 'COMPLETE',
  );
}

const get = (path: string, key: string) => fetch(`${api.url}/v1${path}`, { headers: bearer(key) });

before(async () => {
  config = await testConfig();
  api = await startApi(config);
  [alice, bob, admin] = await Promise.all([newKey(config, 'alice'), newKey(config, 'bob'), newKey(config, 'root', true)]);
});

after(async () => {
  await api.stop();
  await cleanup(config);
});

describe('exploring a complete job', () => {
  let jobId: string;
  before(async () => {
    jobId = await storedJob('COMPLETE');
  });

  test('/embedding serves embedding.bin as it is, uncached', async () => {
    const response = await get(`/jobs/${jobId}/embedding`, alice);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/octet-stream');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), Buffer.from(EMBEDDING));
  });

  test('/genes lists the names /expression accepts; /expression answers one float32 per cell', async () => {
    assert.deepEqual(await (await get(`/jobs/${jobId}/genes`, alice)).json(), { genes: GENES });
    const expected: Record<string, number[]> = { A: [1.5, 0.25, 0, 3], B: [0, 0, 0, 0], 'C/7 ü': [2, 0, 0, 4] };
    for (const gene of GENES) {
      const response = await get(`/jobs/${jobId}/expression?gene=${encodeURIComponent(gene)}`, alice);
      assert.equal(response.status, 200, gene);
      assert.equal(response.headers.get('content-type'), 'application/octet-stream');
      assert.deepEqual(Array.from(new Float32Array(await response.arrayBuffer())), expected[gene], gene);
    }
  });

  test('an unknown gene answers 404 naming it; a missing or oversized gene parameter 400', async () => {
    const unknown = await get(`/jobs/${jobId}/expression?gene=NOPE`, alice);
    assert.equal(unknown.status, 404);
    assert.match(unknown.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.match(((await unknown.json()) as { detail: string }).detail, /no gene "NOPE" among this job's 3 genes/);
    assert.equal((await get(`/jobs/${jobId}/expression`, alice)).status, 400);
    assert.equal((await get(`/jobs/${jobId}/expression?gene=${'x'.repeat(201)}`, alice)).status, 400);
  });

  test("another user's job answers 404 on every route, as if it did not exist; an admin sees it", async () => {
    for (const path of ['embedding', 'genes', 'expression?gene=A']) {
      const response = await get(`/jobs/${jobId}/${path}`, bob);
      assert.equal(response.status, 404, path);
      assert.match(((await response.json()) as { detail: string }).detail, new RegExp(`no job ${jobId}`));
      assert.equal((await get(`/jobs/${jobId}/${path}`, admin)).status, 200, path);
    }
    assert.equal((await fetch(`${api.url}/v1/jobs/${jobId}/embedding`)).status, 401, 'no key, no data');
  });
});

test('before COMPLETE the routes answer 409; results older than the files answer 404 saying to run again', async () => {
  const running = await storedJob('RUNNING');
  for (const path of ['embedding', 'genes', 'expression?gene=A']) assert.equal((await get(`/jobs/${running}/${path}`, alice)).status, 409, path);
  const old = await storedJob('COMPLETE', false);
  for (const [path, file] of [['embedding', 'embedding.bin'], ['genes', 'expression.bin'], ['expression?gene=A', 'expression.bin']]) {
    const response = await get(`/jobs/${old}/${path}`, alice);
    assert.equal(response.status, 404, path);
    assert.match(((await response.json()) as { detail: string }).detail, new RegExp(`no ${file.replace('.', '\\.')} .*run the analysis again`));
  }
});

test('the routes are in the OpenAPI document, with their binary responses', async () => {
  const spec = (await (await fetch(`${api.url}/docs/json`)).json()) as { paths: Record<string, { get: { responses: Record<string, { content?: Record<string, unknown> }> } }> };
  for (const path of ['/v1/jobs/{id}/embedding', '/v1/jobs/{id}/expression']) {
    assert.ok(spec.paths[path]?.get.responses['200']?.content?.['application/octet-stream'], path);
  }
  assert.ok(spec.paths['/v1/jobs/{id}/genes']);
});
