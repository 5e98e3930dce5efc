/** Command-line words: strict option parsing, and `--key value` parameters typed by the pipeline's schema. */
import { readFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from '../errors.js';
import { pipelineParamsSchema } from '../pipeline/params.js';

/** A wrong command line; printed with the command's usage. */
export class UsageError extends InputError {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses a command's words strictly (unknown options are errors). */
export function parse(args: string[], options: Options) {
  return parseArgs({ args, options, allowPositionals: true, strict: true });
}

function typesOf(key: string): string[] {
  return [pipelineParamsSchema.properties[key]?.type ?? []].flat();
}

/**
 * Reads `--key value` pairs into parameters, typed by the JSON Schema: `--min-genes` is `min_genes`,
 * arrays split on commas, numbers parsed, `null` for nullable keys, a boolean key alone means true.
 * Unknown keys pass through for the schema to reject by name.
 */
export function paramsFromArgs(args: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    if (!flag.startsWith('--')) throw new UsageError(`expected --key value, found "${flag}"`);
    const [rawKey, inline] = flag.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const key = rawKey.replaceAll('-', '_');
    const types = typesOf(key);
    const next = args[i + 1];
    if (inline === undefined && types.includes('boolean') && (next === undefined || next.startsWith('--'))) {
      out[key] = true;
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined) throw new UsageError(`--${rawKey} needs a value`);
    if (value === 'null' && types.includes('null')) out[key] = null;
    else if (types.includes('boolean') && (value === 'true' || value === 'false')) out[key] = value === 'true';
    else if (types.includes('array')) out[key] = value === '' ? [] : value.split(',').map((v) => (/^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v));
    else if ((types.includes('integer') || types.includes('number') || !types.length) && value.trim() !== '' && !Number.isNaN(Number(value))) out[key] = Number(value);
    else out[key] = value;
  }
  return out;
}

/**
 * A command's parameters: `--params FILE` (JSON) overlaid with `--key value` pairs; `allowed` limits
 * the keys to those the command uses (the others would be silently ignored, so they are refused).
 */
export async function commandParams(words: readonly string[], paramsFile: string | undefined, allowed?: readonly string[]): Promise<Record<string, unknown>> {
  let fromFile: unknown = {};
  if (paramsFile) {
    try {
      fromFile = JSON.parse(await readFile(paramsFile, 'utf8'));
    } catch (error) {
      throw new UsageError(`cannot read --params ${paramsFile}: ${(error as Error).message}`);
    }
    if (fromFile === null || typeof fromFile !== 'object' || Array.isArray(fromFile)) throw new UsageError(`--params ${paramsFile} must hold a JSON object`);
  }
  const params = { ...(fromFile as object), ...paramsFromArgs(words) } as Record<string, unknown>;
  if (allowed) {
    const foreign = Object.keys(params).filter((key) => Object.hasOwn(pipelineParamsSchema.properties, key) && !allowed.includes(key));
    if (foreign.length) throw new UsageError(`${foreign.map((k) => `"${k}"`).join(', ')} ${foreign.length === 1 ? 'is not a parameter' : 'are not parameters'} of this command; it takes ${allowed.join(', ')}`);
  }
  return params;
}

/**
 * Splits `FILE [--option value ...] [--flag ...] [--key value ...]` into the FILE, the command's own
 * options (`valued` take a value, `flags` do not) and the parameter words that remain.
 */
export function splitCommandWords(
  args: readonly string[],
  command: string,
  valued: readonly string[],
  flags: readonly string[] = [],
): { file: string; options: Record<string, string>; flags: Set<string>; rest: string[] } {
  const [file, ...words] = args;
  if (!file || file.startsWith('--')) throw new UsageError(`${command} needs a FILE`);
  const options: Record<string, string> = {};
  const set = new Set<string>();
  const rest: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const name = words[i]!.startsWith('--') ? words[i]!.slice(2) : '';
    if (valued.includes(name)) {
      const value = words[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      options[name] = value;
    } else if (flags.includes(name)) set.add(name);
    else rest.push(words[i]!);
  }
  return { file, options, flags: set, rest };
}
