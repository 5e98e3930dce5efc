#!/usr/bin/env node
/** The command line: one file per command; parameters are the pipeline schema's keys (`--key value`). */
import { ConfigError } from '../config.js';
import { InputError } from '../errors.js';
import { UsageError } from './args.js';
import * as inspect from './inspect.js';
import * as preprocess from './preprocess.js';
import * as runCommand from './run.js';
import { serve, start, worker } from './service.js';
import * as users from './users.js';

/** A command: a one-line usage and what it does with the words after its name. */
interface Command {
  readonly usage: string;
  run(args: string[]): Promise<void>;
}

const commands: Record<string, Command> = { preprocess, serve, worker, start, users, run: runCommand, inspect };

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
