/** `run FILE --out DIR [--params FILE] [--KEY VALUE ...]`: the whole analysis, as a job of the service runs it. */
import { runPipeline, type PipelineProgress } from '../pipeline/index.js';
import { commandParams, splitCommandWords, UsageError } from './args.js';

export const usage = 'run FILE --out DIR [--params params.json] [--KEY VALUE ...]   (keys: schemas/pipeline-params.schema.json)';

/** A one-line progress bar on a terminal, JSON lines otherwise (for logs and scripts). */
function progressPrinter(): (event: PipelineProgress) => void {
  if (!process.stderr.isTTY) return (event) => process.stderr.write(`${JSON.stringify(event)}\n`);
  const width = 30;
  return (event) => {
    const filled = Math.round(event.overall * width);
    const eta = event.etaSeconds === undefined ? '' : ` eta ${Math.floor(event.etaSeconds / 60)}m${String(event.etaSeconds % 60).padStart(2, '0')}s`;
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(event.overall * 100).toFixed(0).padStart(3)}% ${event.stage}: ${event.message}${eta}`;
    process.stderr.write(`\r${line.slice(0, (process.stderr.columns || 100) - 1).padEnd((process.stderr.columns || 100) - 1)}`);
    if (event.stage === 'write' && event.fraction === 1) process.stderr.write('\n');
  };
}

export async function run(args: string[]): Promise<void> {
  const { file, options, rest } = splitCommandWords(args, 'run', ['out', 'params']);
  if (!options.out) throw new UsageError('run needs --out DIR');
  const params = await commandParams(rest, options.params);
  const controller = new AbortController();
  const cancel = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', cancel);
  process.once('SIGTERM', cancel);
  try {
    const manifest = await runPipeline({ inputPath: file, outDir: options.out, params }, { signal: controller.signal, onProgress: progressPrinter() });
    process.stdout.write(`${JSON.stringify({ out: options.out, cells: manifest.cells, clusters: manifest.clusters.count, seconds: Math.round(manifest.total_seconds), outputs: manifest.outputs })}\n`);
  } finally {
    process.off('SIGINT', cancel);
    process.off('SIGTERM', cancel);
  }
}
