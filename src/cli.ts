#!/usr/bin/env node
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from './errors.js';
import { readFile } from 'node:fs/promises';
import { startApi } from './api/app.js';
import { addUser } from './api/auth.js';
import { ConfigError, loadConfig } from './config.js';
import { inspectDataset, readDataset } from './io/index.js';
import { startWorker, stopOnSignals } from '../workers/worker.js';
import { pipelineParamsSchema, runPipeline, type PipelineProgress } from './pipeline/index.js';
import { PREPROCESS_FLAGS, preprocessOptionsFromFlags, runPreprocessCommand } from './preprocess/index.js';

/** A command: a one-line usage and what it does with the words after its name. */
interface Command {
  usage: string;
  run(args: string[]): Promise<void>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses a command's words strictly (unknown options are errors). */
function parse(args: string[], options: Options) {
  return parseArgs({ args, options, allowPositionals: true, strict: true });
}

/** Thrown for a wrong command line; printed with the usage. */
class UsageError extends InputError {
  override readonly name = 'UsageError';
}

/**
 * Reads `--key value` pairs after `run FILE` into parameters, typed by the JSON Schema: arrays
 * split on commas, numbers parsed, `null` for nullable keys. Unknown keys pass through for the
 * schema to reject by name.
 */
export function paramsFromArgs(args: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    if (!flag.startsWith('--')) throw new UsageError(`expected --key value, found "${flag}"`);
    const [rawKey, inline] = flag.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const key = rawKey.replaceAll('-', '_');
    const value = inline ?? args[++i];
    if (value === undefined) throw new UsageError(`--${rawKey} needs a value`);
    const types = [pipelineParamsSchema.properties[key]?.type ?? []].flat();
    if (value === 'null' && types.includes('null')) out[key] = null;
    else if (types.includes('array')) out[key] = value === '' ? [] : value.split(',').map((v) => (/^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v));
    else if ((types.includes('integer') || types.includes('number') || !types.length) && value.trim() !== '' && !Number.isNaN(Number(value))) out[key] = Number(value);
    else out[key] = value;
  }
  return out;
}

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

const commands: Record<string, Command> = {
  preprocess: {
    usage: `preprocess FILE --out DIR [--layer NAME] [--genome NAME] ${PREPROCESS_FLAGS.map((f) => `[--${f}${f === 'exclude-highly-expressed' ? '' : ' V'}]`).join(' ')}`,
    async run(args) {
      const flagOptions = Object.fromEntries(PREPROCESS_FLAGS.map((f) => [f, { type: f === 'exclude-highly-expressed' ? 'boolean' : 'string' } as const]));
      const { positionals: [file], values } = parse(args, { out: { type: 'string' }, layer: { type: 'string' }, genome: { type: 'string' }, ...flagOptions });
      const { out, layer, genome, ...flags } = values as Record<string, string | boolean | undefined>;
      if (!file) throw new UsageError('preprocess needs a FILE');
      if (typeof out !== 'string') throw new UsageError('preprocess needs --out DIR');
      const options = preprocessOptionsFromFlags(flags);
      const { data } = await readDataset(file, { layer: layer as string | undefined, genome: genome as string | undefined });
      const { summary } = await runPreprocessCommand(data, out, options);
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    },
  },
  serve: {
    usage: 'serve                      the REST API (configured by environment variables: README.md)',
    async run() {
      stopOnSignals(await startApi(loadConfig()));
    },
  },
  worker: {
    usage: 'worker                     a queue worker that runs the pipeline on submitted jobs',
    async run() {
      stopOnSignals(await startWorker(loadConfig()));
    },
  },
  start: {
    usage: 'start                      the API and one worker in this process (a single machine)',
    async run() {
      const config = loadConfig();
      const api = await startApi(config);
      try {
        stopOnSignals(await startWorker(config), api);
      } catch (error) {
        await api.stop();
        throw error;
      }
    },
  },
  users: {
    usage: 'users add NAME [--admin]   creates a user and prints its API key (shown once)',
    async run(args) {
      const { positionals: [verb, name], values } = parse(args, { admin: { type: 'boolean' } });
      if (verb !== 'add' || !name) throw new UsageError('users add NAME [--admin]');
      process.stdout.write(`${await addUser(loadConfig(), name, { admin: values.admin === true })}\n`);
    },
  },
  run: {
    usage: 'run FILE --out DIR [--params params.json] [--KEY VALUE ...]   (keys: schemas/pipeline-params.schema.json)',
    run: runCommand,
  },
  inspect: {
    usage: 'inspect FILE [--layer NAME] [--genome NAME] [--json]',
    async run(args) {
      const { positionals: [file], values } = parse(args, { layer: { type: 'string' }, genome: { type: 'string' }, json: { type: 'boolean' } });
      if (!file) throw new UsageError('inspect needs a FILE');
      const summary = await inspectDataset(file, { layer: values.layer as string | undefined, genome: values.genome as string | undefined });
      if (values.json) {
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      for (const [key, value] of Object.entries(summary)) {
        process.stdout.write(`${key.padEnd(14)} ${typeof value === 'object' ? JSON.stringify(value) : value}\n`);
      }
    },
  },
};

async function runCommand(args: string[]): Promise<void> {
  const [file, ...rest] = args;
  if (!file || file.startsWith('--')) throw new UsageError('run needs a FILE');
  const flags: string[] = [];
  let outDir: string | undefined;
  let paramsFile: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--out') outDir = rest[++i];
    else if (rest[i] === '--params') paramsFile = rest[++i];
    else flags.push(rest[i]!);
  }
  if (!outDir) throw new UsageError('run needs --out DIR');
  let fromFile: unknown = {};
  if (paramsFile) {
    try {
      fromFile = JSON.parse(await readFile(paramsFile, 'utf8'));
    } catch (error) {
      throw new UsageError(`cannot read --params ${paramsFile}: ${(error as Error).message}`);
    }
  }
  const controller = new AbortController();
  const cancel = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', cancel);
  process.once('SIGTERM', cancel);
  try {
    const manifest = await runPipeline(
      { inputPath: file, outDir, params: { ...(fromFile as object), ...paramsFromArgs(flags) } },
      { signal: controller.signal, onProgress: progressPrinter() },
    );
    process.stdout.write(`${JSON.stringify({ out: outDir, cells: manifest.cells, clusters: manifest.clusters.count, seconds: Math.round(manifest.total_seconds), outputs: manifest.outputs })}\n`);
  } finally {
    process.off('SIGINT', cancel);
    process.off('SIGTERM', cancel);
  }
}

function usage(): string {
  return `usage: scgmdvae <command> ...\n${Object.values(commands)
    .map((c) => `  ${c.usage}`)
    .join('\n')}\n`;
}

/** Runs one command line; returns the process exit code (0 ok, 2 bad input, 1 anything else). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : commands[name];
  if (!command) {
    process.stderr.write(name && name !== '--help' ? `scgmdvae: unknown command "${name}"\n${usage()}` : usage());
    return name && name !== '--help' ? 2 : 0;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const bad = error instanceof InputError || error instanceof ConfigError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`scgmdvae ${name}: ${message.split('\n')[0]}${error instanceof UsageError ? `\nusage: scgmdvae ${command.usage}` : ''}\n`);
    if (!bad && process.env['SCGMDVAE_DEBUG']) process.stderr.write(`${(error as Error).stack}\n`);
    return bad ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
