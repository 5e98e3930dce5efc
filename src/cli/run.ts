/** `run FILE --out DIR [--params FILE] [--KEY VALUE ...]`: the whole analysis, as a job of the service runs it. */
import { runPipeline, type PipelineProgress } from '../pipeline/index.js';
import { commandParams, splitCommandWords, UsageError } from './args.js';

export const usage = 'run FILE --out DIR [--params params.json] [--KEY VALUE ...]   (keys: schemas/pipeline-params.schema.json)';

/** Redraws at most this often within a stage (a stage change or the last event always draws). */
const REDRAW_MS = 100;

const bar = (fraction: number, width: number) => `[${'#'.repeat(Math.round(fraction * width))}${'.'.repeat(width - Math.round(fraction * width))}]`;
const minutes = (seconds: number) => `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;

/** One progress line on a terminal, JSON lines otherwise (for logs and scripts). */
export function progressLine(event: PipelineProgress): string {
  const stageEta = event.stageEtaSeconds === undefined ? '' : ` ${minutes(event.stageEtaSeconds)} left`;
  const eta = event.etaSeconds === undefined ? '' : ` | all ${minutes(event.etaSeconds)} left`;
  return `${bar(event.overall, 20)} ${(event.overall * 100).toFixed(0).padStart(3)}% | ${event.stage} ${bar(event.fraction, 10)} ${(event.fraction * 100).toFixed(0).padStart(3)}%${stageEta} ${event.message}${eta}`;
}

/** The job's bar and the current stage's bar, each with its ETA, redrawn in place on a terminal; JSON lines otherwise. */
function progressPrinter(): (event: PipelineProgress) => void {
  if (!process.stderr.isTTY) return (event) => process.stderr.write(`${JSON.stringify(event)}\n`);
  let drawn: { stage: string; at: number } | undefined;
  return (event) => {
    const now = performance.now();
    const last = event.stage === 'write' && event.fraction === 1;
    if (drawn && drawn.stage === event.stage && now - drawn.at < REDRAW_MS && !last) return;
    drawn = { stage: event.stage, at: now };
    const columns = (process.stderr.columns || 100) - 1;
    process.stderr.write(`\r${progressLine(event).slice(0, columns).padEnd(columns)}`);
    if (last) process.stderr.write('\n');
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
