/**
 * The store never keeps half of anything, on both backends: the folder store and the S3 one against a real
 * S3-protocol server (s3rver) on loopback. Failed uploads vanish, results are published whole by their outcome,
 * records list by cursor from Redis, and a dataset delete and a job submit never both succeed.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import type { ServiceConfig } from '../../src/config.js';
import { connectRedis, redisKeys } from '../../src/queue/index.js';
import { createObjectStore, createStorage, objectKeys, type DatasetRecord, type JobRecord, type Storage } from '../../src/storage/index.js';
import { cleanup, dataDirOf, deleteRedisKeys, startS3, testConfig, type TestS3 } from './helpers.js';

async function text(storage: Storage, key: string): Promise<string | undefined> {
  const file = await storage.objects.get(key);
  if (!file) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of file.stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function failingStream(bytesBeforeFailure: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytesBeforeFailure) return this.destroy(new Error('client went away'));
      sent += 1024 * 1024;
      this.push(Buffer.alloc(1024 * 1024, 7));
    },
  });
}

function datasetRecord(id: string, owner: string, created_at: string): DatasetRecord {
  return { id, owner, filename: 'x', bytes: 1, sha256: '', created_at, inspect: {} };
}

function jobRecord(owner: string, datasetId: string, created_at: string): JobRecord {
  return { id: randomUUID(), owner, dataset_id: datasetId, params: {}, created_at, request_hash: '', queue: 'cpu' };
}

async function storedDataset(storage: Storage, owner: string, created_at = new Date().toISOString()): Promise<DatasetRecord> {
  const upload = await storage.receive(Readable.from([Buffer.from('data')]));
  const record = datasetRecord(upload.id, owner, created_at);
  await storage.saveDataset(upload, record);
  return record;
}

for (const backend of ['file', 's3'] as const) {
  describe(`the ${backend} store`, () => {
    let s3: TestS3 | undefined;
    let config: ServiceConfig;
    let redis: Redis;
    let storage: Storage;

    before(async () => {
      s3 = backend === 's3' ? await startS3() : undefined;
      config = await testConfig(s3?.env ?? {});
      redis = connectRedis(config, 'cli');
      storage = await createStorage(config, redis);
    });

    after(async () => {
      redis.disconnect();
      await cleanup(config);
      await s3?.stop();
    });

    test('an upload is hashed while streaming (multipart past 8 MiB) and committed with its record; delete removes both', async () => {
      const content = Buffer.alloc(9 * 1024 * 1024 + 17, 3);
      const upload = await storage.receive(Readable.from([content.subarray(0, 5_000_000), content.subarray(5_000_000)]));
      assert.equal(upload.bytes, content.length);
      assert.equal(upload.sha256, createHash('sha256').update(content).digest('hex'));
      assert.deepEqual(await readFile(upload.path), content, 'a local copy for inspection');
      const record = datasetRecord(upload.id, 'alice', new Date().toISOString());
      await storage.saveDataset(upload, record);
      assert.deepEqual(await storage.getDataset(record.id), record);
      assert.equal(JSON.parse((await text(storage, objectKeys.datasetRecord(record.id)))!).id, record.id, 'a durable copy beside the data');
      assert.deepEqual(await storage.objects.getRange(objectKeys.datasetData(record.id), content.length - 4, 10), new Uint8Array(content.subarray(-4)));
      assert.equal((await storage.deleteDataset(record, async () => [])).deleted, true);
      assert.equal(await storage.getDataset(record.id), undefined);
      assert.equal(await storage.objects.get(objectKeys.datasetData(record.id)), undefined);
    });

    test('a stream that fails midway (past the first part) leaves no object, record or local copy behind', async () => {
      const before = await storage.objects.listFolders('datasets/');
      await assert.rejects(storage.receive(failingStream(10 * 1024 * 1024)), /client went away/);
      assert.deepEqual(await storage.objects.listFolders('datasets/'), before);
      assert.equal(await redis.zcard(redisKeys(config.redisPrefix).pendingUploads), 0);
      if (backend === 'file') assert.deepEqual(await readdir(join(config.storage.kind === 'file' ? config.storage.root : '', 'tmp')), []);
      else assert.deepEqual(await readdir(join(config.scratchDir, 'uploads')), []);
    });

    test('ids and names that are not ours name nothing', async () => {
      assert.equal(await storage.getDataset('../../etc/passwd'), undefined);
      assert.equal(await storage.getJob('..'), undefined);
      assert.equal(await storage.openResult(randomUUID(), '../job.json'), undefined);
      await assert.rejects(storage.objects.get('jobs/../../x'), /not a storage key/);
    });

    test('results appear only with their outcome, whole, replacing nothing half; earlier attempts are dropped', async () => {
      const jobId = randomUUID();
      const killed = randomUUID();
      await storage.objects.put(`${objectKeys.attempt(jobId, killed)}cells.csv`, Buffer.from('half'));
      assert.equal(await storage.openResult(jobId, 'cells.csv'), undefined, 'an attempt without an outcome shows nothing');
      const dir = await mkdtemp(join(tmpdir(), 'scgmdvae-attempt-'));
      await writeFile(join(dir, 'cells.csv'), 'whole');
      await writeFile(join(dir, 'manifest.json'), '{}');
      const finished = randomUUID();
      await storage.publishResults(jobId, finished, dir, { state: 'COMPLETE', finished_at: 'now', attempts: 2 });
      await rm(dir, { recursive: true });
      const file = await storage.openResult(jobId, 'cells.csv');
      assert.ok(file);
      assert.equal(file.size, 5);
      file.stream.destroy();
      assert.deepEqual(await storage.readResultRange(jobId, 'cells.csv', 1, 100), new TextEncoder().encode('hole'));
      assert.deepEqual(await storage.readResultRange(jobId, 'cells.csv', 5, 10), new Uint8Array(0), 'a range past the end is empty');
      assert.equal((await storage.getOutcome(jobId))?.results, finished);
      assert.deepEqual(await storage.objects.listFolders(objectKeys.attempts(jobId)), [finished]);
    });

    test('an outcome is written once: racing writers all get the first; a publication that lost leaves no attempt', async () => {
      const jobId = randomUUID();
      const states = ['CANCELED', 'SYSTEM_ERROR', 'COMPLETE', 'EXECUTOR_ERROR'] as const;
      const held = await Promise.all(states.map((state) => storage.setOutcome(jobId, { state, finished_at: state, attempts: 1 })));
      assert.equal(new Set(held.map((outcome) => outcome.state)).size, 1, JSON.stringify(held));
      assert.deepEqual(await storage.getOutcome(jobId), held[0]);
      assert.deepEqual(JSON.parse((await text(storage, objectKeys.outcome(jobId)))!), held[0], 'its copy in the store is the one that holds');
      const dir = await mkdtemp(join(tmpdir(), 'scgmdvae-attempt-'));
      await writeFile(join(dir, 'cells.csv'), 'late');
      const late = await storage.publishResults(jobId, randomUUID(), dir, { state: 'COMPLETE', finished_at: 'later', attempts: 2 });
      await rm(dir, { recursive: true });
      assert.deepEqual(late, held[0], 'a late run gets the outcome that holds');
      assert.deepEqual(await storage.objects.listFolders(objectKeys.attempts(jobId)), []);
      if (backend === 'file') assert.deepEqual((await readdir(join(dataDirOf(config), 'jobs', jobId))).sort(), ['outcome.json'], 'no empty attempts folder');
    });

    test('listing is newest first in pages with a cursor, per owner, all for an admin', async () => {
      const base = Date.parse('2030-01-01T00:00:00.000Z');
      const dataset = await storedDataset(storage, 'lister');
      const jobs: JobRecord[] = [];
      for (let i = 0; i < 7; i++) {
        // Two jobs in the same millisecond: the id breaks the tie, so no page skips or repeats one.
        const job = jobRecord(i === 3 ? 'other' : 'lister', dataset.id, new Date(base + Math.floor(i / 2) * 1000).toISOString());
        assert.equal(await storage.submitJob(job), true);
        jobs.push(job);
      }
      const newest = (list: JobRecord[]) => [...list].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id)).map((j) => j.id);
      const seen: string[] = [];
      let after: JobRecord | undefined;
      for (;;) {
        const page = await storage.listJobs({ name: 'lister', admin: false }, after, 2);
        seen.push(...page.items.map((job) => job.id));
        if (!page.more) break;
        after = page.items.at(-1);
      }
      assert.deepEqual(seen, newest(jobs.filter((job) => job.owner === 'lister')));
      const all = await storage.listJobs({ name: 'root', admin: true }, undefined, 100);
      assert.ok(newest(jobs).every((id) => all.items.some((job) => job.id === id)));
      assert.deepEqual((await storage.listDatasets({ name: 'lister', admin: false }, undefined, 10)).items.map((d) => d.id), [dataset.id]);
    });

    test('delete and submit race on one dataset: never a job on a deleted dataset', async () => {
      for (let round = 0; round < 20; round++) {
        const dataset = await storedDataset(storage, 'racer');
        const job = jobRecord('racer', dataset.id, new Date().toISOString());
        const [submitted, deleted] = await Promise.all([storage.submitJob(job), storage.deleteDataset(dataset, async () => [])]);
        assert.notEqual(submitted, deleted.deleted, `round ${round}: exactly one wins`);
        assert.equal((await storage.getJob(job.id)) !== undefined, submitted);
        assert.equal((await storage.getDataset(dataset.id)) !== undefined, submitted);
      }
    });

    test('a dataset is deletable once its jobs are released, or found finished when no worker released them', async () => {
      const dataset = await storedDataset(storage, 'alice');
      const [first, second] = [jobRecord('alice', dataset.id, new Date().toISOString()), jobRecord('alice', dataset.id, new Date().toISOString())];
      await storage.submitJob(first);
      await storage.submitJob(second);
      const refused = await storage.deleteDataset(dataset, async () => []);
      assert.deepEqual('usedBy' in refused ? [...refused.usedBy].sort() : [], [first.id, second.id].sort());
      await storage.releaseJob(first.id, dataset.id);
      const asked: string[][] = [];
      const result = await storage.deleteDataset(dataset, async (ids) => {
        asked.push(ids);
        return ids;
      });
      assert.deepEqual(asked, [[second.id]]);
      assert.equal(result.deleted, true);
    });

    test('records kept beside the objects are indexed into a Redis that lacks them, once', async () => {
      const dataset = await storedDataset(storage, 'indexer');
      const job = jobRecord('indexer', dataset.id, new Date().toISOString());
      await storage.submitJob(job);
      const fresh = { ...config, redisPrefix: `${config.redisPrefix}-fresh` };
      const other = await createStorage(fresh, redis);
      // A job of an older store: results published by a rename (before attempt prefixes), its outcome only a file.
      await storage.objects.put(`${objectKeys.renamedResults(job.id)}cells.csv`, Buffer.from('old'));
      await storage.objects.put(objectKeys.outcome(job.id), Buffer.from(JSON.stringify({ state: 'COMPLETE', finished_at: 'then', attempts: 1 })));
      try {
        assert.equal(await other.getDataset(dataset.id), undefined);
        assert.ok((await other.indexStoredRecords()) >= 2);
        assert.deepEqual(await other.getDataset(dataset.id), dataset);
        assert.deepEqual(await other.getJob(job.id), job);
        assert.deepEqual((await other.listJobs({ name: 'indexer', admin: false }, undefined, 10)).items, [job]);
        assert.equal((await other.getOutcome(job.id))?.state, 'COMPLETE', 'the outcome is indexed with its job');
        assert.equal(await other.indexStoredRecords(), 0, 'once per Redis');
        assert.deepEqual(await other.readResultRange(job.id, 'cells.csv', 0, 10), new TextEncoder().encode('old'));
      } finally {
        await deleteRedisKeys(fresh.redisUrl, fresh.redisPrefix);
      }
    });

    test('an upload abandoned by a process that died is swept after an hour', async () => {
      const upload = await storage.receive(Readable.from([Buffer.from('orphan')]));
      const keys = redisKeys(config.redisPrefix);
      assert.equal(await storage.sweepAbandonedUploads(), 0, 'a live upload stays');
      await redis.zadd(keys.pendingUploads, Date.now() - 2 * 3_600_000, upload.id);
      assert.equal(await storage.sweepAbandonedUploads(), 1);
      assert.equal(await storage.objects.get(objectKeys.datasetData(upload.id)), undefined);
    });

    if (backend === 's3') {
      test('with S3_PRESIGN a result has a short-lived URL the store serves with the content type and file name', async () => {
        const presigning = await createObjectStore({ ...(config.storage as Extract<ServiceConfig['storage'], { kind: 's3' }>), presign: true });
        const key = `${objectKeys.attempt(randomUUID(), randomUUID())}cells.csv`;
        await presigning.put(key, Buffer.from('a,b\n'));
        const url = await presigning.presignedUrl(key, { contentType: 'text/csv; charset=utf-8', filename: 'job-cells.csv' });
        assert.ok(url);
        const response = await fetch(url);
        assert.equal(response.status, 200);
        assert.equal(await response.text(), 'a,b\n');
        assert.equal(response.headers.get('content-type'), 'text/csv; charset=utf-8');
        assert.equal(response.headers.get('content-disposition'), 'attachment; filename="job-cells.csv"');
        assert.equal(await storage.objects.presignedUrl(key, { contentType: 'text/csv', filename: 'x' }), undefined, 'off by default');
      });
    } else {
      test('start-up clears only stale temporary files', async () => {
        const root = config.storage.kind === 'file' ? config.storage.root : '';
        const stale = join(root, 'tmp', 'put-stale');
        await writeFile(stale, 'x');
        await writeFile(join(root, 'tmp', 'put-live'), 'y');
        await utimes(stale, new Date(0), new Date(0));
        await mkdir(join(root, 'tmp', 'trash-old'));
        await utimes(join(root, 'tmp', 'trash-old'), new Date(0), new Date(0));
        await createObjectStore(config.storage);
        assert.deepEqual(await readdir(join(root, 'tmp')), ['put-live']);
        await rm(join(root, 'tmp', 'put-live'));
      });
    }
  });
}
