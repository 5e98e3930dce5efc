/**
 * The worker's side of a job's child process (processor.ts is the child's): one fresh process per job, watched.
 * The child is killed when it sends nothing for the progress timeout, when the job is handed back, or when it does
 * not stop after a cancel; a child that exits without an answer is a failed run, never a job left running.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { execArgvFor } from '../child-module.js';
import type { PipelineJob, PipelineProgress } from '../pipeline/types.js';
import type { ChildFailure, ChildMessage, ParentMessage } from './processor.js';

export type ChildResult = { ok: true } | { ok: false; error: ChildFailure };

/** The child did not come up (exited or stayed silent before it was ready): the worker, not the job, is at fault. */
export class ChildStartError extends Error {
  override readonly name = 'ChildStartError';
}

/** A child that ended or was stopped without reporting how its run went. */
export class ChildLostError extends Error {
  override readonly name = 'ChildLostError';
}

export interface RunChildOptions {
  file: URL;
  env: NodeJS.ProcessEnv;
  /** Longest silence after the child is ready (no progress) before it is killed. */
  progressTimeoutMs: number;
  signal: AbortSignal;
  /** Abort reasons that hand the job back: the child is killed at once rather than asked to stop. */
  releaseReason: string;
  onProgress(event: PipelineProgress): void;
  /** The child's pid once forked, so the caller (and the chaos bench) can see it. */
  onSpawn?(pid: number): void;
}

/** How long a canceled run may take to stop on its own before its child is killed. */
const CANCEL_KILL_MS = 30_000;
/** How long a child may take to load (the model libraries) and say it is ready. */
export const CHILD_START_TIMEOUT_MS = 120_000;

function forkChild(file: URL, env: NodeJS.ProcessEnv): ChildProcess {
  try {
    return fork(file, [], { env, execArgv: execArgvFor(file), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  } catch (err) {
    throw new ChildStartError(`the job's process could not start: ${(err as Error).message}`);
  }
}

/** Starts a child and stops it once it says it is ready: whether this worker can run jobs at all. */
export function probeChild(file: URL, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = forkChild(file, env);
    let ready = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('message', (message: ChildMessage) => {
      ready = message.type === 'ready';
      child.kill('SIGKILL');
    });
    child.once('error', () => child.kill('SIGKILL'));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (ready) resolve();
      else reject(new ChildStartError(`a job process did not start (${signal ?? `exit code ${code}`})`));
    });
  });
}

export function runInChild(job: PipelineJob, options: RunChildOptions): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = forkChild(options.file, options.env);
    } catch (err) {
      reject(err);
      return;
    }
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    let ready = false;
    let answer: ChildResult | undefined;
    let killedFor: string | undefined;
    const kill = (why: string) => {
      killedFor ??= why;
      child.kill('SIGKILL');
    };
    let silence: NodeJS.Timeout;
    const listen = () => {
      clearTimeout(silence);
      const ms = ready ? options.progressTimeoutMs : CHILD_START_TIMEOUT_MS;
      silence = setTimeout(() => kill(`it sent nothing for ${ms / 1000} s`), ms);
    };
    let cancelTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      if (options.signal.reason === options.releaseReason) return kill('the job was handed back');
      if (!ready) return kill('the job was canceled before it started');
      child.send({ type: 'cancel' } satisfies ParentMessage, () => undefined);
      cancelTimer = setTimeout(() => kill('it did not stop after the cancel'), CANCEL_KILL_MS);
    };
    listen();
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener('abort', onAbort, { once: true });

    child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') ready = true;
      listen();
      switch (message.type) {
        case 'ready':
          child.send({ type: 'run', job } satisfies ParentMessage, () => undefined);
          break;
        case 'progress':
          options.onProgress(message.event);
          break;
        case 'done':
          answer = { ok: true };
          break;
        case 'failed':
          answer = { ok: false, error: message.error };
          break;
      }
    });
    child.once('error', (err) => kill(err.message));
    child.once('exit', (code, signal) => {
      clearTimeout(silence);
      clearTimeout(cancelTimer);
      options.signal.removeEventListener('abort', onAbort);
      if (answer) return resolve(answer);
      const how = killedFor ? `was stopped: ${killedFor}` : `ended (${signal ?? `exit code ${code}`}) without an answer`;
      if (!ready && !options.signal.aborted) return reject(new ChildStartError(`the job's process ${how} before it was ready`));
      if (options.signal.aborted) return resolve({ ok: false, error: { name: 'AbortError', message: `the job's process ${how}`, input: false, aborted: true } });
      reject(new ChildLostError(`the job's process ${how}`));
    });
  });
}
