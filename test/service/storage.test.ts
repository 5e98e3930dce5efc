/** The local store never keeps half of anything: failed uploads vanish, results are published whole. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { LocalStorage } from '../../src/storage/index.js';

let root: string;
let storage: LocalStorage;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'scgmdvae-storage-'));
  storage = await new LocalStorage(root).init();
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('an upload is hashed while streaming and committed with its record', async () => {
  const upload = await storage.receive(Readable.from([Buffer.from('abc'), Buffer.from('def')]));
  assert.equal(upload.bytes, 6);
  assert.equal(upload.sha256, 'bef57ec7f53a6d40beb640a780a639c83bc29ac8a9816f1fc6c5c6dcd93c4721');
  const id = randomUUID();
  await storage.saveDataset(upload, { id, owner: 'a', filename: 'x', bytes: 6, sha256: upload.sha256, created_at: '', inspect: {} });
  assert.equal(await readFile(storage.datasetPath(id), 'utf8'), 'abcdef');
  assert.deepEqual(await readdir(join(root, 'tmp')), []);
  assert.equal((await storage.listDatasets()).length, 1);
  await storage.deleteDataset(id);
  assert.equal(await storage.getDataset(id), undefined);
});

test('a stream that fails midway leaves no file behind', async () => {
  const failing = new Readable({
    read() {
      this.push(Buffer.alloc(1024));
      this.destroy(new Error('client went away'));
    },
  });
  await assert.rejects(storage.receive(failing), /client went away/);
  assert.deepEqual(await readdir(join(root, 'tmp')), []);
});

test('ids that are not ours name nothing', async () => {
  assert.equal(await storage.getDataset('../../etc/passwd'), undefined);
  assert.equal(await storage.getJob('..'), undefined);
  assert.equal(await storage.openResult(randomUUID(), '../job.json'), undefined);
});

test('results are published whole, replacing an earlier set and dropping killed attempts', async () => {
  const jobId = randomUUID();
  const killed = await storage.newAttemptDir(jobId);
  await writeFile(join(killed, 'cells.csv'), 'half');
  const finished = await storage.newAttemptDir(jobId);
  await writeFile(join(finished, 'cells.csv'), 'whole');
  await storage.publishResults(jobId, finished);
  const file = await storage.openResult(jobId, 'cells.csv');
  assert.ok(file);
  assert.equal(file.size, 5);
  file.stream.destroy();
  assert.deepEqual((await readdir(join(root, 'jobs', jobId))).sort(), ['results']);
});

test('records survive a restart; start-up clears only stale temporary files', async () => {
  const jobId = randomUUID();
  await storage.saveJob({ id: jobId, owner: 'a', dataset_id: randomUUID(), params: {}, created_at: '', request_hash: '' });
  await storage.setOutcome(jobId, { state: 'COMPLETE', finished_at: 'now', attempts: 1 });
  const stale = join(root, 'tmp', 'upload-stale');
  const live = join(root, 'tmp', 'upload-live');
  await writeFile(stale, 'x');
  await writeFile(live, 'y');
  await utimes(stale, new Date(0), new Date(0));
  await mkdir(join(root, 'tmp', 'trash-old'));
  await utimes(join(root, 'tmp', 'trash-old'), new Date(0), new Date(0));
  const restarted = await new LocalStorage(root).init();
  assert.equal((await restarted.getJob(jobId))?.id, jobId);
  assert.equal((await restarted.getOutcome(jobId))?.state, 'COMPLETE');
  assert.deepEqual(await readdir(join(root, 'tmp')), ['upload-live']);
});
