/** What the service stores: records (in Redis, records.ts) and objects (datasets, results) in an ObjectStore. */
import type { Readable } from 'node:stream';
import type { JobQueueName } from '../config.js';

/** The summary of a dataset as the reader's inspectDataset reports it (cells, genes, matrix, values kind, columns). */
export type DatasetSummary = Record<string, unknown>;

export interface DatasetRecord {
  id: string;
  owner: string;
  /** The name the client uploaded it under; only shown, never used as a path. */
  filename: string;
  bytes: number;
  sha256: string;
  created_at: string;
  inspect: DatasetSummary;
}

export interface JobRecord {
  id: string;
  owner: string;
  dataset_id: string;
  /** The resolved parameters (defaults filled in). */
  params: Record<string, unknown>;
  created_at: string;
  /** sha256 of the request, kept to answer a reused Idempotency-Key with a different request. */
  request_hash: string;
  /** The capability queue it was routed to. */
  queue: JobQueueName;
}

export type TerminalState = 'COMPLETE' | 'EXECUTOR_ERROR' | 'SYSTEM_ERROR' | 'CANCELED';

/** How a job ended, written once (by the worker, or the API where the queue implies an end); it outlives the queue's copy of the job. */
export interface JobOutcome {
  state: TerminalState;
  finished_at: string;
  /** Attempts started, kept for when the queue has forgotten the job. */
  attempts: number;
  /** Error class name (e.g. DatasetError) and message, for the two error states. */
  error?: { kind: string; message: string };
  /** The attempt whose results are published (COMPLETE); absent on jobs published before attempt prefixes. */
  results?: string;
}

export interface ReceivedUpload {
  /** The dataset id it is stored under; it becomes a dataset once saveDataset writes its record. */
  id: string;
  /** A local file with the content, for inspection. */
  path: string;
  bytes: number;
  sha256: string;
}

/** Who is asking: a user sees their own records, an admin everyone's. */
export interface Viewer {
  name: string;
  admin: boolean;
}

/** One page of a listing, newest first; `more` when older records follow the last one. */
export interface Page<T> {
  items: T[];
  more: boolean;
}

export interface StoredFile {
  stream: Readable;
  size: number;
}

/**
 * An object store: a local folder or an S3 bucket. Keys are '/'-separated paths we build from our own ids.
 * Every write is whole or absent: a reader never sees a partial object, and a failed write leaves nothing.
 */
export interface ObjectStore {
  /** Where it lives, for logs: file:///path or s3://bucket/prefix. */
  readonly url: string;
  /** True when localCopy hands out the stored file itself (no download). */
  readonly holdsLocalFiles: boolean;
  /** Streams `source` to `key`, handing each chunk to `observe` on the way (hashing, a local copy); returns the bytes written. */
  put(key: string, source: Readable | Uint8Array, observe?: (chunk: Buffer) => void | Promise<void>): Promise<number>;
  putFile(key: string, path: string): Promise<void>;
  get(key: string): Promise<StoredFile | undefined>;
  /** `length` bytes from `start` (fewer at the end); undefined when there is no such object. */
  getRange(key: string, start: number, length: number): Promise<Uint8Array | undefined>;
  /** A local path with the object's content: the stored file itself for a folder store, else a download into `scratchPath`. */
  localCopy(key: string, scratchPath: string): Promise<string>;
  /** Removes every object whose key starts with `prefix`. */
  deletePrefix(prefix: string): Promise<void>;
  /** The keys directly under `prefix` that are "folders" (their next path segment), for listing a job's attempts. */
  listFolders(prefix: string): Promise<string[]>;
  /** A time-limited URL a client can download `key` from, or undefined when the store serves no such URLs. */
  presignedUrl(key: string, download: { contentType: string; filename: string }): Promise<string | undefined>;
  /** Removes the partial writes of processes that are gone; returns how many. */
  sweepTemp(): Promise<number>;
}
