/** What the service stores, behind an interface so a deployment could swap the local disk for another store. */
import type { Readable } from 'node:stream';

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
}

export type TerminalState = 'COMPLETE' | 'EXECUTOR_ERROR' | 'SYSTEM_ERROR' | 'CANCELED';

/** How a job ended, written by the worker; it outlives the queue's own copy of the job. */
export interface JobOutcome {
  state: TerminalState;
  finished_at: string;
  /** Attempts started, kept for when the queue has forgotten the job. */
  attempts: number;
  /** Error class name (e.g. DatasetError) and message, for the two error states. */
  error?: { kind: string; message: string };
}

export interface ReceivedUpload {
  /** A temporary file inside the data directory: commit it with saveDataset or drop it with discard. */
  path: string;
  bytes: number;
  sha256: string;
}

export interface StoredFile {
  stream: Readable;
  size: number;
}

export interface Storage {
  /** Streams `source` into a temporary file, hashing as it goes; the file is removed if the stream fails. */
  receive(source: Readable): Promise<ReceivedUpload>;
  discard(upload: ReceivedUpload): Promise<void>;
  /** Moves the upload into place and writes its record, both atomically. */
  saveDataset(upload: ReceivedUpload, record: DatasetRecord): Promise<void>;
  getDataset(id: string): Promise<DatasetRecord | undefined>;
  listDatasets(): Promise<DatasetRecord[]>;
  /** The path the pipeline reads the dataset from. */
  datasetPath(id: string): string;
  deleteDataset(id: string): Promise<void>;

  saveJob(record: JobRecord): Promise<void>;
  getJob(id: string): Promise<JobRecord | undefined>;
  /** Removes a job whose submission failed before it reached the queue. */
  deleteJob(id: string): Promise<void>;
  listJobs(): Promise<JobRecord[]>;
  /** Writes how the job ended unless an outcome exists already; returns the one that holds (a job ends once). */
  setOutcome(jobId: string, outcome: JobOutcome): Promise<JobOutcome>;
  getOutcome(jobId: string): Promise<JobOutcome | undefined>;
  /** A fresh empty folder for one attempt's results, so a killed attempt never leaves half a result set. */
  newAttemptDir(jobId: string): Promise<string>;
  /** Removes a failed attempt's folder, and the job's attempts folder once it is empty. */
  discardAttempt(attemptDir: string): Promise<void>;
  /** Removes the partial uploads of processes that are gone; returns how many. */
  sweepTemp(): Promise<number>;
  /** Replaces the job's results with a finished attempt's folder in one rename. */
  publishResults(jobId: string, attemptDir: string): Promise<void>;
  openResult(jobId: string, name: string): Promise<StoredFile | undefined>;
  /** `length` bytes of a result file from `start` (fewer at its end); undefined when the job has no such file. */
  readResultRange(jobId: string, name: string, start: number, length: number): Promise<Uint8Array | undefined>;
}
