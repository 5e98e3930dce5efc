/**
 * The body of a job's child process: it waits for one job from its worker, runs a pipeline function on it, streams
 * progress back and reports how the run ended, then exits. A fresh process per job, so nothing one job does to the
 * process (a wasm heap out of bounds, a leak) reaches the next; a separate process so training never blocks the
 * worker's lock renewal.
 */
import { InputError, redactPaths } from '../errors.js';
import type { PipelineJob, PipelineProgress, PipelineRunOptions } from '../pipeline/types.js';

export type PipelineFunction = (job: PipelineJob, options: PipelineRunOptions) => Promise<unknown>;

/** What a worker sends its child. */
export type ParentMessage = { type: 'run'; job: PipelineJob } | { type: 'cancel' };

/** How a run ended, as the child tells it. */
export interface ChildFailure {
  name: string;
  message: string;
  /** The input is at fault (InputError): not retried. */
  input: boolean;
  /** The run stopped because the worker asked it to. */
  aborted: boolean;
}

/** What a child sends its worker: ready once loaded, progress, then done or failed. */
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'progress'; event: PipelineProgress }
  | { type: 'done' }
  | { type: 'failed'; error: ChildFailure };

/** Progress more often than this goes to the worker only when the stage changes. */
const PROGRESS_INTERVAL_MS = 250;

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

function throttledProgress(paths: Record<string, string>): (event: PipelineProgress) => void {
  let lastStage = '';
  let lastSent = 0;
  return (event) => {
    const now = Date.now();
    if (event.stage === lastStage && now - lastSent < PROGRESS_INTERVAL_MS) return;
    lastStage = event.stage;
    lastSent = now;
    void send({ type: 'progress', event: { ...event, message: redactPaths(event.message, paths) } });
  };
}

/** Turns this process into a job child running `runPipeline`; the module that calls it is the worker's child file. */
export function createProcessor(runPipeline: PipelineFunction): void {
  if (!process.send) throw new Error('a job process must be started by a worker (it talks over IPC)');
  // A child whose worker died (kill -9) must not train on: the job is retried elsewhere.
  process.once('disconnect', () => process.exit(1));
  const controller = new AbortController();

  const run = async (job: PipelineJob) => {
    const paths = { [job.outDir]: 'the results folder', [job.inputPath]: 'the dataset' };
    try {
      await runPipeline(job, { signal: controller.signal, onProgress: throttledProgress(paths) });
      await send({ type: 'done' });
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      await send({
        type: 'failed',
        error: { name: error.name, message: redactPaths(error.message, paths), input: err instanceof InputError, aborted: controller.signal.aborted },
      });
    }
    process.exit(0);
  };

  process.on('message', (message: ParentMessage) => {
    if (message.type === 'cancel') controller.abort();
    else void run(message.job);
  });
  void send({ type: 'ready' });
}
