/**
 * The one child-process bootstrap. Code that runs in another process (the job child, the upload
 * inspector) is named by file: under tsx that file is the .ts source and the child needs tsx's loader; in the
 * compiled build it is plain .js.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `name` next to the module at `base` (an import.meta.url), with that module's own extension. */
export function siblingModule(base: string, name: string): URL {
  return new URL(`./${name}${extname(fileURLToPath(base))}`, base);
}

/** The node options a child process or thread needs to load `file`. */
export function execArgvFor(file: URL): string[] {
  return file.pathname.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
}

/** A worker thread running `file`: under tsx through an inline bootstrap that registers tsx first, since a worker's execArgv loader does not reach its ESM imports. */
export function startWorker(file: URL, options: WorkerOptions = {}): Worker {
  if (!file.pathname.endsWith('.ts')) return new Worker(file, options);
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(file.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
