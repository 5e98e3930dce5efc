/**
 * A job's files in the object store: each attempt uploads its results under its own prefix
 * (jobs/<id>/attempts/<attempt>/), and the outcome, written last, names the attempt whose results count.
 * Until it is written nothing of the attempt is visible, so a killed attempt never shows half a result set.
 * The outcome is written once: a SET NX in Redis decides which writer's end holds, on every store (S3 has no
 * put-if-absent that all its servers honour); its copy beside the objects is for a Redis that lost its data.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../queue/index.js';
import { ID_PATTERN, objectKeys } from './keys.js';
import type { JobOutcome, ObjectStore, StoredFile } from './types.js';

/** Result prefixes of COMPLETE jobs kept in memory: they never change, and a page reads several files of one job. */
const PREFIX_CACHE_SIZE = 1_000;

export class JobFiles {
  private readonly completePrefixes = new Map<string, string>();

  constructor(
    readonly objects: ObjectStore,
    protected readonly redis: Redis,
    protected readonly keys: RedisKeys,
  ) {}

  /** Writes how the job ended unless an outcome holds already; returns the one that holds (a job ends once). */
  async setOutcome(jobId: string, outcome: JobOutcome): Promise<JobOutcome> {
    const json = JSON.stringify(outcome);
    if ((await this.redis.set(this.keys.outcome(jobId), json, 'NX')) === null) return (await this.getOutcome(jobId))!;
    await this.objects.put(objectKeys.outcome(jobId), Buffer.from(json));
    return outcome;
  }

  /** A small JSON object of the store (an outcome, a record's copy), or undefined when there is none. */
  protected async readJson<T>(key: string): Promise<T | undefined> {
    const file = await this.objects.get(key);
    if (!file) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of file.stream) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
  }

  async getOutcome(jobId: string): Promise<JobOutcome | undefined> {
    if (!ID_PATTERN.test(jobId)) return undefined;
    const json = await this.redis.get(this.keys.outcome(jobId));
    return json === null ? undefined : (JSON.parse(json) as JobOutcome);
  }

  /**
   * Uploads the files of a finished attempt's folder, then writes the outcome naming the attempt (the one write that
   * publishes them), then drops the prefixes of every attempt but the published one: killed attempts', and this
   * one's when the job had ended meanwhile (canceled, or published by another worker). Returns the outcome that holds.
   */
  async publishResults(jobId: string, attempt: string, dir: string, outcome: JobOutcome): Promise<JobOutcome> {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.isFile()) await this.objects.putFile(objectKeys.attempt(jobId, attempt) + entry.name, join(dir, entry.name));
    }
    const held = await this.setOutcome(jobId, { ...outcome, results: attempt });
    for (const other of await this.objects.listFolders(objectKeys.attempts(jobId))) {
      if (other !== held.results) await this.objects.deletePrefix(objectKeys.attempt(jobId, other));
    }
    return held;
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
