/**
 * A job's files in the object store: each attempt uploads its results under its own prefix
 * (jobs/<id>/attempts/<attempt>/), and the outcome object, written last, names the attempt whose results count.
 * Until it is written nothing of the attempt is visible, so a killed attempt never shows half a result set.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ID_PATTERN, objectKeys } from './keys.js';
import type { JobOutcome, ObjectStore, StoredFile } from './types.js';

/** Result prefixes of COMPLETE jobs kept in memory: they never change, and a page reads several files of one job. */
const PREFIX_CACHE_SIZE = 1_000;

export class JobFiles {
  private readonly completePrefixes = new Map<string, string>();

  constructor(readonly objects: ObjectStore) {}

  async setOutcome(jobId: string, outcome: JobOutcome): Promise<void> {
    await this.objects.put(objectKeys.outcome(jobId), Buffer.from(JSON.stringify(outcome, null, 2)));
  }

  /** A small JSON object of the store (an outcome, a record's copy), or undefined when there is none. */
  protected async readJson<T>(key: string): Promise<T | undefined> {
    const file = await this.objects.get(key);
    if (!file) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of file.stream) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
  }

  getOutcome(jobId: string): Promise<JobOutcome | undefined> {
    return ID_PATTERN.test(jobId) ? this.readJson<JobOutcome>(objectKeys.outcome(jobId)) : Promise.resolve(undefined);
  }

  async clearOutcome(jobId: string): Promise<void> {
    this.completePrefixes.delete(jobId);
    await this.objects.deletePrefix(objectKeys.outcome(jobId));
  }

  /**
   * Uploads the files of a finished attempt's folder, then writes the outcome naming the attempt (the one write that
   * publishes them), then drops the prefixes of earlier, killed attempts.
   */
  async publishResults(jobId: string, attempt: string, dir: string, outcome: JobOutcome): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.isFile()) await this.objects.putFile(objectKeys.attempt(jobId, attempt) + entry.name, join(dir, entry.name));
    }
    await this.setOutcome(jobId, { ...outcome, results: attempt });
    for (const other of await this.objects.listFolders(objectKeys.attempts(jobId))) {
      if (other !== attempt) await this.objects.deletePrefix(objectKeys.attempt(jobId, other));
    }
  }

  /** Where the job's published results are; undefined until an outcome names them. */
  private async resultPrefix(jobId: string): Promise<string | undefined> {
    const cached = this.completePrefixes.get(jobId);
    if (cached) return cached;
    const outcome = await this.getOutcome(jobId);
    if (outcome?.state !== 'COMPLETE') return undefined;
    const prefix = outcome.results ? objectKeys.attempt(jobId, outcome.results) : objectKeys.renamedResults(jobId);
    if (this.completePrefixes.size >= PREFIX_CACHE_SIZE) this.completePrefixes.delete(this.completePrefixes.keys().next().value!);
    this.completePrefixes.set(jobId, prefix);
    return prefix;
  }

  /** The object key of a result file, or undefined when the name is not a plain file name or the job has no results. */
  async resultKey(jobId: string, name: string): Promise<string | undefined> {
    if (!ID_PATTERN.test(jobId) || !/^[\w.-]+$/.test(name) || name.startsWith('.')) return undefined;
    const prefix = await this.resultPrefix(jobId);
    return prefix && prefix + name;
  }

  async openResult(jobId: string, name: string): Promise<StoredFile | undefined> {
    const key = await this.resultKey(jobId, name);
    return key === undefined ? undefined : this.objects.get(key);
  }

  /** `length` bytes of a result file from `start` (fewer at its end); undefined when the job has no such file. */
  async readResultRange(jobId: string, name: string, start: number, length: number): Promise<Uint8Array | undefined> {
    const key = await this.resultKey(jobId, name);
    return key === undefined ? undefined : this.objects.getRange(key, start, length);
  }
}
