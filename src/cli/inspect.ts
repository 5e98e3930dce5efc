/** `inspect FILE [--layer NAME] [--genome NAME] [--json]`: what the reader finds in a dataset. */
import { inspectDataset } from '../io/index.js';
import { readOptions, resolveParams } from '../pipeline/params.js';
import { commandParams, splitCommandWords } from './args.js';

export const usage = 'inspect FILE [--layer NAME] [--genome NAME] [--json]';

export async function run(args: string[]): Promise<void> {
  const { file, flags, rest } = splitCommandWords(args, 'inspect', [], ['json']);
  const params = resolveParams(await commandParams(rest, undefined, ['layer', 'genome']));
  const summary = await inspectDataset(file, readOptions(params));
  if (flags.has('json')) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  for (const [key, value] of Object.entries(summary)) {
    process.stdout.write(`${key.padEnd(14)} ${typeof value === 'object' ? JSON.stringify(value) : value}\n`);
  }
}
