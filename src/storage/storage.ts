/**
 * What the API and the workers store. Records (datasets, jobs) live in Redis: one key per record, read by id in
 * O(1), and per-user sorted sets (newest first by `created_at|id`) for listing with cursors, so no request reads
 * every record. Each record is also written beside its objects (dataset.json, job.json) as a durable copy.
 * The dataset's set of unfinished jobs is its reference count: submit and delete each run as one Lua script, so a
 * job can never be queued on a dataset that is being deleted.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ChainableCommander, Redis } from 'ioredis';
import type { RedisKeys } from '../queue/index.js';
import { JobFiles } from './job-files.js';
import { ID_PATTERN, objectKeys } from './keys.js';
import { sweepTemporaries, temporaryName } from './temporaries.js';
import type { DatasetRecord, JobOutcome, JobRecord, ObjectStore, Page, ReceivedUpload, Viewer } from './types.js';

/** An upload not committed or discarded within this time was abandoned by a process that died; its object is removed. */
const ABANDONED_UPLOAD_MS = 3_600_000;

/** Records a job on its dataset: 0 when the dataset is gone (deleted meanwhile). */
const SUBMIT_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('SET', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], 0, ARGV[2])
redis.call('ZADD', KEYS[5], 0, ARGV[2])
return 1`;

/** A refused delete names this many of the jobs that use the dataset at most. */
const USERS_SHOWN = 20;

/** Deletes a dataset's record unless unfinished jobs use it: 'missing', some of those jobs' ids, or an empty list (deleted). */
const DELETE_DATASET_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
local users = redis.call('SRANDMEMBER', KEYS[2], ARGV[2])
if #users > 0 then return users end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return {}`;

/** Where a record sorts: listings start after one of these (the cursor). */
export type Indexed = { id: string; created_at: string };

/** The sorted-set member of a record: all scores are 0, so members sort by creation time, then id. */
function member(record: Indexed): string {
  return `${record.created_at}|${record.id}`;
}

export type DeleteResult = { deleted: true } | { deleted: false; missing: true } | { deleted: false; usedBy: string[] };

export class Storage extends JobFiles {
  /** Where an upload is copied for inspection when the store holds no local files. */
  private readonly uploadCopies: string;

  constructor(objects: ObjectStore, redis: Redis, keys: RedisKeys, scratchDir: string) {
    super(objects, redis, keys);
    this.uploadCopies = join(scratchDir, 'uploads');
  }

  /**
   * Streams an upload to the store under a new dataset id, hashing on the way; the object is removed if the stream
   * fails. It is registered as pending first, so one left behind by a killed API is swept (sweepAbandonedUploads).
   */
  async receive(source: Readable): Promise<ReceivedUpload> {
    const id = randomUUID();
    const hash = createHash('sha256');
    await this.redis.zadd(this.keys.pendingUploads, Date.now(), id);
    const copy = this.objects.holdsLocalFiles ? undefined : join(this.uploadCopies, temporaryName('upload'));
    let bytes: number;
    try {
      if (copy) {
        await mkdir(this.uploadCopies, { recursive: true });
        const local = createWriteStream(copy, { flags: 'wx' });
        const write = (chunk: Buffer) => new Promise<void>((resolve, reject) => local.write(chunk, (err) => (err ? reject(err) : resolve())));
        try {
          bytes = await this.objects.put(objectKeys.datasetData(id), source, async (chunk) => {
            hash.update(chunk);
            await write(chunk);
          });
        } finally {
          await new Promise((resolve) => local.end(resolve));
        }
      } else {
        bytes = await this.objects.put(objectKeys.datasetData(id), source, (chunk) => void hash.update(chunk));
      }
    } catch (err) {
      if (copy) await rm(copy, { force: true });
      await this.objects.deletePrefix(objectKeys.dataset(id));
      await this.redis.zrem(this.keys.pendingUploads, id);
      throw err;
    }
    // A folder store's copy is the stored file itself: no scratch path needed.
    const path = copy ?? (await this.objects.localCopy(objectKeys.datasetData(id), ''));
    return { id, path, bytes, sha256: hash.digest('hex') };
  }

  private async dropLocalCopy(upload: ReceivedUpload): Promise<void> {
    if (!this.objects.holdsLocalFiles) await rm(upload.path, { force: true });
  }

  async discard(upload: ReceivedUpload): Promise<void> {
    await this.dropLocalCopy(upload);
    await this.objects.deletePrefix(objectKeys.dataset(upload.id));
    await this.redis.zrem(this.keys.pendingUploads, upload.id);
  }

  /** Writes the record of a received upload (record.id must be upload.id): from then on it is a dataset. */
  async saveDataset(upload: ReceivedUpload, record: DatasetRecord): Promise<void> {
    if (record.id !== upload.id) throw new Error('a dataset record keeps the id its upload was stored under');
    await this.objects.put(objectKeys.datasetRecord(record.id), Buffer.from(JSON.stringify(record)));
    await this.indexed(this.redis.multi(), this.keys.dataset(record.id), this.keys.datasets, record).zrem(this.keys.pendingUploads, record.id).exec();
    await this.dropLocalCopy(upload);
  }

  /** Adds to `multi` the writes of a record and its two index entries (its owner's, everyone's); with 'NX' only a missing record. */
  private indexed(multi: ChainableCommander, key: string, index: (owner: string | undefined) => string, record: Indexed & { owner: string }, only?: 'NX'): ChainableCommander {
    const json = JSON.stringify(record);
    (only ? multi.set(key, json, only) : multi.set(key, json)).zadd(index(record.owner), 0, member(record)).zadd(index(undefined), 0, member(record));
    return multi;
  }

  /**
   * Removes what uploads of processes that are gone left: their partial writes (the store's), their local copies
   * for inspection, and the objects of those never committed or discarded; returns how many.
   */
  async sweepTemp(): Promise<number> {
    const [writes, copies] = await Promise.all([this.objects.sweepTemp(), sweepTemporaries(this.uploadCopies)]);
    return writes + copies + (await this.sweepAbandonedUploads());
  }

  /** Removes the objects of uploads whose API process died before committing or discarding them. */
  async sweepAbandonedUploads(): Promise<number> {
    const ids = await this.redis.zrangebyscore(this.keys.pendingUploads, 0, Date.now() - ABANDONED_UPLOAD_MS);
    for (const id of ids) {
      if (!(await this.redis.exists(this.keys.dataset(id)))) await this.objects.deletePrefix(objectKeys.dataset(id));
      await this.redis.zrem(this.keys.pendingUploads, id);
    }
    return ids.length;
  }

  /**
   * Fills Redis with the records kept beside the objects (a store written before records lived in Redis, or a
   * Redis that lost its data), once per Redis (a marker key); records already there are left as they are.
   */
  async indexStoredRecords(): Promise<number> {
    if (await this.redis.exists(this.keys.recordsIndexed)) return 0;
    let count = 0;
    for (const id of (await this.objects.listFolders('datasets/')).filter((name) => ID_PATTERN.test(name))) {
      const record = await this.readJson<DatasetRecord>(objectKeys.datasetRecord(id));
      if (!record) continue;
      await this.indexed(this.redis.multi(), this.keys.dataset(id), this.keys.datasets, record, 'NX').exec();
      count += 1;
    }
    for (const id of (await this.objects.listFolders('jobs/')).filter((name) => ID_PATTERN.test(name))) {
      const stored = await this.readJson<JobRecord>(objectKeys.jobRecord(id));
      if (!stored) continue;
      // Jobs from before the capability queues were in neither; their state comes from their outcome.
      const record: JobRecord = { ...stored, queue: stored.queue ?? 'cpu' };
      const multi = this.indexed(this.redis.multi(), this.keys.job(id), this.keys.jobs, record, 'NX');
      const outcome = await this.readJson<JobOutcome>(objectKeys.outcome(id));
      if (outcome) multi.set(this.keys.outcome(id), JSON.stringify(outcome), 'NX');
      await multi.exec();
      count += 1;
    }
    await this.redis.set(this.keys.recordsIndexed, new Date().toISOString());
    return count;
  }

  private async read<T>(key: string): Promise<T | undefined> {
    const json = await this.redis.get(key);
    return json === null ? undefined : (JSON.parse(json) as T);
  }

  getDataset(id: string): Promise<DatasetRecord | undefined> {
    return ID_PATTERN.test(id) ? this.read<DatasetRecord>(this.keys.dataset(id)) : Promise.resolve(undefined);
  }

  getJob(id: string): Promise<JobRecord | undefined> {
    return ID_PATTERN.test(id) ? this.read<JobRecord>(this.keys.job(id)) : Promise.resolve(undefined);
  }

  /** Up to `limit` records of `index` older than `after`, newest first: O(limit), whatever the number stored. */
  private async page<T extends Indexed>(index: string, recordKey: (id: string) => string, after: Indexed | undefined, limit: number): Promise<Page<T>> {
    const members = await this.redis.zrevrangebylex(index, after ? `(${member(after)}` : '+', '-', 'LIMIT', 0, limit + 1);
    const shown = members.slice(0, limit);
    const ids = shown.map((entry) => entry.slice(entry.lastIndexOf('|') + 1));
    const records = ids.length === 0 ? [] : await this.redis.mget(ids.map(recordKey));
    const items = records.filter((json): json is string => json !== null).map((json) => JSON.parse(json) as T);
    return { items, more: members.length > limit };
  }

  listDatasets(viewer: Viewer, after: Indexed | undefined, limit: number): Promise<Page<DatasetRecord>> {
    return this.page<DatasetRecord>(this.keys.datasets(viewer.admin ? undefined : viewer.name), this.keys.dataset, after, limit);
  }

  listJobs(viewer: Viewer, after: Indexed | undefined, limit: number): Promise<Page<JobRecord>> {
    return this.page<JobRecord>(this.keys.jobs(viewer.admin ? undefined : viewer.name), this.keys.job, after, limit);
  }

  /**
   * Deletes the dataset unless an unfinished job uses it. `finished` says which of (some of) the jobs still
   * registered on it have ended (a worker that died may not have released them), in order, and may stop at the
   * first that has not; the ended ones are released, and when that was all of them the delete is tried again.
   */
  async deleteDataset(record: DatasetRecord, finished: (jobIds: string[]) => Promise<string[]>): Promise<DeleteResult> {
    const attempt = async (): Promise<DeleteResult> => {
      const answer = (await this.redis.eval(
        DELETE_DATASET_SCRIPT,
        4,
        this.keys.dataset(record.id),
        this.keys.datasetJobs(record.id),
        this.keys.datasets(record.owner),
        this.keys.datasets(undefined),
        member(record),
        USERS_SHOWN,
      )) as string | string[];
      if (answer === 'missing') return { deleted: false, missing: true };
      return answer.length === 0 ? { deleted: true } : { deleted: false, usedBy: answer as string[] };
    };
    for (;;) {
      const result = await attempt();
      if (!('usedBy' in result)) {
        if (result.deleted) await this.objects.deletePrefix(objectKeys.dataset(record.id));
        return result;
      }
      const ended = new Set(await finished(result.usedBy));
      if (ended.size > 0) await this.redis.srem(this.keys.datasetJobs(record.id), ...ended);
      if (ended.size < result.usedBy.length) return { deleted: false, usedBy: result.usedBy.filter((id) => !ended.has(id)) };
    }
  }

  /** Records a job and registers it on its dataset in one step; false (nothing written) when the dataset is gone. */
  async submitJob(record: JobRecord): Promise<boolean> {
    const json = JSON.stringify(record);
    const added = await this.redis.eval(
      SUBMIT_SCRIPT,
      5,
      this.keys.dataset(record.dataset_id),
      this.keys.datasetJobs(record.dataset_id),
      this.keys.job(record.id),
      this.keys.jobs(record.owner),
      this.keys.jobs(undefined),
      json,
      member(record),
      record.id,
    );
    if (added !== 1) return false;
    await this.objects.put(objectKeys.jobRecord(record.id), Buffer.from(json));
    return true;
  }

  /** Removes a job whose submission failed before it reached the queue. */
  async withdrawJob(record: JobRecord): Promise<void> {
    await this.redis
      .multi()
      .del(this.keys.job(record.id))
      .zrem(this.keys.jobs(record.owner), member(record))
      .zrem(this.keys.jobs(undefined), member(record))
      .srem(this.keys.datasetJobs(record.dataset_id), record.id)
      .exec();
    await this.objects.deletePrefix(objectKeys.job(record.id));
  }

  /** A job ended: its dataset may be deleted as far as this job is concerned. */
  async releaseJob(jobId: string, datasetId: string): Promise<void> {
    await this.redis.srem(this.keys.datasetJobs(datasetId), jobId);
  }

  /** A download URL for a result file when the store presigns (S3_PRESIGN=true), else undefined: stream it. */
  async resultUrl(jobId: string, name: string, download: { contentType: string; filename: string }): Promise<string | undefined> {
    const key = await this.resultKey(jobId, name);
    return key === undefined ? undefined : this.objects.presignedUrl(key, download);
  }
}
