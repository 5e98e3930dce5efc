#!/usr/bin/env node
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from './errors.js';
import { inspectDataset } from './io/index.js';

/** A command: its options (node:util parseArgs syntax), a one-line usage, and what it does. */
interface Command {
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(positionals: string[], values: Record<string, string | boolean | (string | boolean)[] | undefined>): Promise<void>;
}

/** Thrown for a wrong command line; printed with the usage. */
class UsageError extends InputError {
  override readonly name = 'UsageError';
}

const commands: Record<string, Command> = {
  inspect: {
    usage: 'inspect FILE [--layer NAME] [--genome NAME] [--json]',
    options: { layer: { type: 'string' }, genome: { type: 'string' }, json: { type: 'boolean' } },
    async run([file], values) {
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
    const { positionals, values } = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
    await command.run(positionals, values);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const bad = error instanceof InputError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`scgmdvae ${name}: ${message.split('\n')[0]}${error instanceof UsageError ? `\nusage: scgmdvae ${command.usage}` : ''}\n`);
    if (!bad && process.env['SCGMDVAE_DEBUG']) process.stderr.write(`${(error as Error).stack}\n`);
    return bad ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
