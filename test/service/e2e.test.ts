/**
 * The whole flow over HTTP with the real pipeline in a real worker: upload the CellBench two-platform file,
 * submit with condition_keys ["platform"], poll to COMPLETE, download and check cells.csv and result.h5ad.
 * Skipped when ../shared/data (not part of the repository) is absent.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { startApi, type RunningApi } from '../../src/api/app.js';
import type { ServiceConfig } from '../../src/config.js';
import { inspectDataset } from '../../src/io/index.js';
import { startWorker, type RunningWorker } from '../../src/queue/worker.js';
import { TERMINAL, bearer, cleanup, dataDirOf, newKey, pollJob, submit, testConfig, upload } from './helpers.js';

const CELLBENCH = fileURLToPath(new URL('../../../shared/data/cellbench/cellbench_2platforms.h5ad', import.meta.url));
const skip = existsSync(CELLBENCH) ? false : '../shared/data is absent';
const ended = (job: { state: string }) => TERMINAL.includes(job.state);

let config: ServiceConfig;
let api: RunningApi;
let worker: RunningWorker;
let key: string;
let datasetId: string;

before(async () => {
  if (skip) return;
  config = await testConfig();
  api = await startApi(config);
  worker = await startWorker(config);
  key = await newKey(config, 'alice');
});

after(async () => {
  if (skip) return;
  await worker.stop();
  await api.stop();
  await cleanup(config);
});

test('upload CellBench, submit with condition_keys ["platform"], poll to COMPLETE, download the results', { skip }, async () => {
  const uploaded = await upload(api.url, key, CELLBENCH);
  assert.equal(uploaded.status, 201, await uploaded.clone().text());
  const dataset = (await uploaded.json()) as { id: string; inspect: { format: string; n_obs: number; n_vars: number; obs_columns: string[] } };
  datasetId = dataset.id;
  assert.equal(dataset.inspect.format, 'h5ad');
  assert.equal(dataset.inspect.n_obs, 499);
  assert.ok(dataset.inspect.obs_columns.includes('platform'));

  const response = await submit(api.url, key, { dataset_id: dataset.id, params: { condition_keys: ['platform'], epochs: 2, schedule: 'constant', n_clusters: 3, n_top_genes: 500, hidden: [64] } });
  assert.equal(response.status, 202, await response.clone().text());
  const job = (await response.json()) as { id: string };
  const done = await pollJob(api.url, key, job.id, ended, { rounds: 1200, everyMs: 250 });
  assert.equal(done.state, 'COMPLETE', JSON.stringify(done));
  assert.equal(done.progress?.stage, 'write');

  const manifest = (await (await fetch(`${api.url}/v1/jobs/${job.id}/results/manifest.json`, { headers: bearer(key) })).json()) as {
    cells: { kept: number };
    params: { condition_keys: string[] };
  };
  assert.deepEqual(manifest.params.condition_keys, ['platform']);

  const csvResponse = await fetch(`${api.url}/v1/jobs/${job.id}/results/cells.csv`, { headers: bearer(key) });
  assert.equal(csvResponse.headers.get('content-type'), 'text/csv; charset=utf-8');
  const [header, ...rows] = (await csvResponse.text()).trim().split('\n');
  const columns = header!.split(',');
  assert.deepEqual(columns.slice(0, 5), ['barcode', 'cluster', 'cluster_probability', 'umap_1', 'umap_2']);
  assert.ok(columns.includes('platform'));
  assert.equal(rows.length, manifest.cells.kept);
  const platform = columns.indexOf('platform');
  assert.deepEqual(new Set(rows.map((row) => row.split(',')[platform])), new Set(['CEL-seq2', 'Drop-seq']));
  assert.ok(rows.every((row) => Number.isFinite(Number(row.split(',')[3]))), 'every cell has UMAP coordinates');

  const h5adResponse = await fetch(`${api.url}/v1/jobs/${job.id}/results/result.h5ad`, { headers: bearer(key) });
  assert.equal(h5adResponse.headers.get('content-type'), 'application/x-hdf5');
  assert.equal(h5adResponse.headers.get('content-disposition'), `attachment; filename="${job.id}-result.h5ad"`);
  const h5adPath = join(dataDirOf(config), 'downloaded.h5ad');
  await writeFile(h5adPath, Buffer.from(await h5adResponse.arrayBuffer()));
  const result = await inspectDataset(h5adPath);
  assert.equal(result.format, 'h5ad');
  assert.equal(result.n_obs, manifest.cells.kept);
  assert.ok(result.obs_columns.includes('platform'), `obs: ${result.obs_columns}`);
});

test('a job on a dataset without the condition column ends in EXECUTOR_ERROR naming the column', { skip }, async () => {
  const response = await submit(api.url, key, { dataset_id: datasetId, params: { condition_keys: ['sequencing_run'], epochs: 2 } });
  assert.equal(response.status, 202);
  const done = await pollJob(api.url, key, ((await response.json()) as { id: string }).id, ended, { rounds: 1200, everyMs: 250 });
  assert.equal(done.state, 'EXECUTOR_ERROR', JSON.stringify(done));
  assert.match(done.error!.message, /sequencing_run/);
  assert.doesNotMatch(done.error!.message, new RegExp(dataDirOf(config)), 'no server paths in messages');
  assert.equal(done.attempts.made, 1);
});
