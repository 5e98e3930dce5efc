/**
 * Storage on the local filesystem under DATA_DIR:
 *   tmp/                       uploads in progress and folders being deleted (same filesystem, so renames are atomic)
 *   datasets/<id>/data         the uploaded file, datasets/<id>/dataset.json its record
 *   jobs/<id>/job.json         the job record, jobs/<id>/outcome.json how it ended
 *   jobs/<id>/attempts/<n>/    one attempt's results while it runs; jobs/<id>/results/ once it finished
 * Every file is written to a temporary name, fsynced and renamed, so a crash leaves the old or the new version.
 */
import { writeFileAtomic } from '../io/atomic.js';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type {
  DatasetRecord,
  JobOutcome,
  JobRecord,
  ReceivedUpload,
  Storage,
  StoredFile,
} from './types.js';

/** Ids are UUIDs we generated; anything else (e.g. '../x' from a URL) names nothing. */
const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const STALE_TEMP_MS = 3_600_000;
/** Uploads in progress are named upload.<host>.<pid>.<boot>.<uuid>, so a sweep knows which belong to a dead process. */
const HOST = hostname().replace(/[^A-Za-z0-9-]/g, '-');
const BOOT = randomUUID().slice(0, 8);
const UPLOAD_NAME = /^upload\.([A-Za-z0-9-]+)\.(\d+)\.([0-9a-f]{8})\./;
const JOB_CACHE_SIZE = 10_000;

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class LocalStorage implements Storage {
  private readonly tmpDir: string;
  private readonly datasetsDir: string;
  private readonly jobsDir: string;
  private readonly jobCache = new Map<string, JobRecord>();

  constructor(readonly root: string) {
    this.tmpDir = join(root, 'tmp');
    this.datasetsDir = join(root, 'datasets');
    this.jobsDir = join(root, 'jobs');
  }

  /** Creates the folders and removes what a crash left in tmp/. */
  async init(): Promise<this> {
    await Promise.all([this.tmpDir, this.datasetsDir, this.jobsDir].map((dir) => mkdir(dir, { recursive: true })));
    await this.sweepTemp();
    return this;
  }

  /**
   * Removes from tmp/ the uploads of processes of this host that are gone (a pid that is dead, or ours from an earlier
   * boot: a container's API is always pid 1) and anything untouched for an hour (another host's crash).
   */
  async sweepTemp(): Promise<number> {
    const staleBefore = Date.now() - STALE_TEMP_MS;
    let removed = 0;
    for (const name of await readdir(this.tmpDir)) {
      const path = join(this.tmpDir, name);
      const owner = UPLOAD_NAME.exec(name);
      const orphan = owner !== null && owner[1] === HOST && owner[3] !== BOOT && (Number(owner[2]) === process.pid || !processAlive(Number(owner[2])));
      const info = orphan ? undefined : await stat(path).catch(() => undefined);
      if (orphan || (info && info.mtimeMs < staleBefore)) {
        await rm(path, { recursive: true, force: true });
        removed += 1;
      }
    }
    return removed;
  }

  private writeJson(path: string, value: unknown): Promise<void> {
    return writeFileAtomic(path, JSON.stringify(value, null, 2), true);
  }

  private async readJson<T>(path: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as T;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async readAll<T>(dir: string, file: string): Promise<T[]> {
    const ids = (await readdir(dir)).filter((id) => ID_PATTERN.test(id));
    const records = await Promise.all(ids.map((id) => this.readJson<T>(join(dir, id, file))));
    return records.filter((record): record is Awaited<T> => record !== undefined) as T[];
  }

  /** Moves a folder out of sight in one rename, then deletes it. */
  private async removeDir(dir: string): Promise<void> {
    const trash = join(this.tmpDir, `trash-${randomUUID()}`);
    try {
      await rename(dir, trash);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    await rm(trash, { recursive: true, force: true });
  }

  async receive(source: Readable): Promise<ReceivedUpload> {
    const path = join(this.tmpDir, `upload.${HOST}.${process.pid}.${BOOT}.${randomUUID()}`);
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            bytes += chunk.length;
            yield chunk;
          }
        },
        // flush: fsync before close, so a stored dataset is on disk before we say so.
        createWriteStream(path, { flags: 'wx', flush: true }),
      );
    } catch (err) {
      await rm(path, { force: true });
      throw err;
    }
    return { path, bytes, sha256: hash.digest('hex') };
  }

  async discard(upload: ReceivedUpload): Promise<void> {
    await rm(upload.path, { force: true });
  }

  datasetPath(id: string): string {
    return join(this.datasetsDir, id, 'data');
  }

  async saveDataset(upload: ReceivedUpload, record: DatasetRecord): Promise<void> {
    const dir = join(this.datasetsDir, record.id);
    await mkdir(dir);
    try {
      await rename(upload.path, this.datasetPath(record.id));
      await this.writeJson(join(dir, 'dataset.json'), record);
      await fsyncDir(dir);
      await fsyncDir(this.datasetsDir);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  async getDataset(id: string): Promise<DatasetRecord | undefined> {
    if (!ID_PATTERN.test(id)) return undefined;
    return this.readJson<DatasetRecord>(join(this.datasetsDir, id, 'dataset.json'));
  }

  listDatasets(): Promise<DatasetRecord[]> {
    return this.readAll<DatasetRecord>(this.datasetsDir, 'dataset.json');
  }

  async deleteDataset(id: string): Promise<void> {
    if (ID_PATTERN.test(id)) await this.removeDir(join(this.datasetsDir, id));
  }

  async saveJob(record: JobRecord): Promise<void> {
    const dir = join(this.jobsDir, record.id);
    await mkdir(dir, { recursive: true });
    await this.writeJson(join(dir, 'job.json'), record);
    await fsyncDir(dir);
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    if (!ID_PATTERN.test(id)) return undefined;
    const cached = this.jobCache.get(id);
    if (cached) return cached;
    const record = await this.readJson<JobRecord>(join(this.jobsDir, id, 'job.json'));
    if (record) {
      // Job records never change once written, so polls need not read them again; oldest entries go first.
      if (this.jobCache.size >= JOB_CACHE_SIZE) this.jobCache.delete(this.jobCache.keys().next().value!);
      this.jobCache.set(id, record);
    }
    return record;
  }

  async deleteJob(id: string): Promise<void> {
    this.jobCache.delete(id);
    if (ID_PATTERN.test(id)) await this.removeDir(join(this.jobsDir, id));
  }

  listJobs(): Promise<JobRecord[]> {
    return this.readAll<JobRecord>(this.jobsDir, 'job.json');
  }

  async setOutcome(jobId: string, outcome: JobOutcome): Promise<JobOutcome> {
    const path = join(this.jobsDir, jobId, 'outcome.json');
    const temporary = `${path}.new-${randomUUID()}`;
    await writeFileAtomic(temporary, JSON.stringify(outcome, null, 2), true);
    try {
      // link() fails when the target exists: the first outcome written is the one that stays.
      await link(temporary, path);
      await fsyncDir(dirname(path));
      return outcome;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return (await this.getOutcome(jobId))!;
    } finally {
      await unlink(temporary).catch(() => undefined);
    }
  }

  async getOutcome(jobId: string): Promise<JobOutcome | undefined> {
    if (!ID_PATTERN.test(jobId)) return undefined;
    return this.readJson<JobOutcome>(join(this.jobsDir, jobId, 'outcome.json'));
  }

  async newAttemptDir(jobId: string): Promise<string> {
    const dir = join(this.jobsDir, jobId, 'attempts', randomUUID());
    await mkdir(dir, { recursive: true });
    return dir;
  }

  async discardAttempt(attemptDir: string): Promise<void> {
    await rm(attemptDir, { recursive: true, force: true });
    // The attempts folder goes with its last attempt; another attempt still running keeps it (ENOTEMPTY).
    await rmdir(dirname(attemptDir)).catch(() => undefined);
  }

  async publishResults(jobId: string, attemptDir: string): Promise<void> {
    const jobDir = join(this.jobsDir, jobId);
    await this.removeDir(join(jobDir, 'results'));
    await rename(attemptDir, join(jobDir, 'results'));
    await fsyncDir(jobDir);
    // Folders of earlier, killed attempts.
    await rm(join(jobDir, 'attempts'), { recursive: true, force: true });
  }

  private resultPath(jobId: string, name: string): string | undefined {
    return ID_PATTERN.test(jobId) && basename(name) === name ? join(this.jobsDir, jobId, 'results', name) : undefined;
  }

  async openResult(jobId: string, name: string): Promise<StoredFile | undefined> {
    const path = this.resultPath(jobId, name);
    if (!path) return undefined;
    try {
      const info = await stat(path);
      if (!info.isFile()) return undefined;
      return { stream: createReadStream(path), size: info.size };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async readResultRange(jobId: string, name: string, start: number, length: number): Promise<Uint8Array | undefined> {
    const path = this.resultPath(jobId, name);
    if (!path) return undefined;
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    try {
      const buffer = new Uint8Array(length);
      const { bytesRead } = await handle.read(buffer, 0, length, start);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function createStorage(dataDir: string): Promise<Storage> {
  return new LocalStorage(dataDir).init();
}
