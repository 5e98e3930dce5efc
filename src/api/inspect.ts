/**
 * Upload inspection. An HDF5 file's matrix is counted and sampled a slice at a time, but those reads block the
 * thread, an MTX matrix is parsed whole, and a compressed upload may be a decompression bomb, so large or compressed
 * files are inspected in a child process, at most INSPECT_CONCURRENCY at once (beyond: 503 with Retry-After); small
 * uncompressed ones are inspected in place, where forking would cost more than reading.
 */
import { fork } from 'node:child_process';
import { InputError } from '../errors.js';
import { inspectDataset } from '../io/index.js';
import { detectContainer } from '../io/detect.js';
import { execArgvFor, siblingModule } from '../child-module.js';
import type { DatasetSummary } from '../storage/index.js';
import type { DatasetInspector } from './context.js';
import { HttpProblem } from './problem.js';

const CHILD = siblingModule(import.meta.url, 'inspect-child');
const IN_PROCESS_MAX_BYTES = 8 * 1024 ** 2;
/** Containers whose bytes are not what the reader holds: their size says nothing about the work. */
const COMPRESSED = new Set(['tar.gz', 'zip', 'mtx.gz']);
/** A read that runs this long is stuck or far beyond this machine; the child is killed. */
const INSPECT_TIMEOUT_MS = 15 * 60_000;
/** What a client turned away for want of an inspector should wait. */
const RETRY_AFTER_SECONDS = '10';

type ChildReply = { ok: true; summary: DatasetSummary } | { ok: false; name: string; message: string; input: boolean };

export function inspectInChild(path: string): Promise<DatasetSummary> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [path], { execArgv: execArgvFor(CHILD), stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    let reply: ChildReply | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), INSPECT_TIMEOUT_MS);
    child.once('message', (message: ChildReply) => (reply = message));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!reply) return reject(new Error(`the dataset inspector exited (${signal ?? code}) without an answer${signal === 'SIGKILL' ? ` after ${INSPECT_TIMEOUT_MS / 60_000} minutes` : ''}`));
      if (reply.ok) return resolve(reply.summary);
      const error = reply.input ? new InputError(reply.message) : new Error(reply.message);
      Object.defineProperty(error, 'name', { value: reply.name });
      reject(error);
    });
  });
}

/** The upload inspector of one API process, with its pool of `concurrency` inspector children. */
export function createInspector(concurrency: number): DatasetInspector {
  let busy = 0;
  return async (path, bytes) => {
    if (bytes <= IN_PROCESS_MAX_BYTES && !COMPRESSED.has(await detectContainer(path))) {
      return (await inspectDataset(path)) as unknown as DatasetSummary;
    }
    if (busy >= concurrency) {
      throw new HttpProblem(503, `all ${concurrency} dataset inspectors are busy; upload again shortly`, { headers: { 'retry-after': RETRY_AFTER_SECONDS } });
    }
    busy += 1;
    try {
      return await inspectInChild(path);
    } finally {
      busy -= 1;
    }
  };
}
