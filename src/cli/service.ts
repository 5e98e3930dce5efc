/** `serve`, `worker`, `start`: the REST API, a queue worker, or both in one process, until SIGTERM or SIGINT. */
import { startApi } from '../api/app.js';
import { loadConfig } from '../config.js';
import { startWorker } from '../queue/worker.js';

/**
 * SIGTERM or SIGINT stops everything given (a worker finishes or hands back its job within
 * WORKER_SHUTDOWN_GRACE_MS), then the process exits.
 */
export function stopOnSignals(...services: { stop(): Promise<void> }[]): void {
  const shutdown = (signal: NodeJS.Signals) => {
    process.stderr.write(`scgmdvae: ${signal}: stopping\n`);
    Promise.all(services.map((service) => service.stop())).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`scgmdvae: stopping failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

export const serve = {
  usage: 'serve                      the REST API (configured by environment variables: README.md)',
  async run(): Promise<void> {
    stopOnSignals(await startApi(loadConfig()));
  },
};

export const worker = {
  usage: 'worker                     a queue worker that runs the pipeline on submitted jobs',
  async run(): Promise<void> {
    stopOnSignals(await startWorker(loadConfig()));
  },
};

export const start = {
  usage: 'start                      the API and one worker in this process (a single machine)',
  async run(): Promise<void> {
    const config = loadConfig();
    const api = await startApi(config);
    try {
      stopOnSignals(await startWorker(config), api);
    } catch (error) {
      await api.stop();
      throw error;
    }
  },
};
