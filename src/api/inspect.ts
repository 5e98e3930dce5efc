/**
 * Upload inspection. The reader loads the whole matrix (for a large file, tens of seconds and over a GB), which in the API
 * process would stall every other request and keep its memory high, so large files are read in a child process;
 * small ones are read in place, where forking would cost more than reading.
 */
import { fork } from 'node:child_process';
import { InputError } from '../errors.js';
import { inspectDataset } from '../io/index.js';
import { execArgvFor, siblingModule } from '../child-module.js';
import type { DatasetSummary } from '../storage/index.js';
import type { DatasetInspector } from './context.js';

const CHILD = siblingModule(import.meta.url, 'inspect-child');
const IN_PROCESS_MAX_BYTES = 8 * 1024 ** 2;
/** A read that runs this long is stuck or far beyond this machine; the child is killed. */
const INSPECT_TIMEOUT_MS = 15 * 60_000;

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

export const inspectUpload: DatasetInspector = async (path, bytes) =>
  bytes <= IN_PROCESS_MAX_BYTES ? ((await inspectDataset(path)) as unknown as DatasetSummary) : inspectInChild(path);
