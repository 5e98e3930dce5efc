/** `users add NAME [--admin]`: creates a user (or adds a key) and prints the API key, once. */
import { addUser } from '../api/auth.js';
import { loadConfig } from '../config.js';
import { parse, UsageError } from './args.js';

export const usage = 'users add NAME [--admin]   creates a user and prints its API key (shown once)';

export async function run(args: string[]): Promise<void> {
  const { positionals: [verb, name], values } = parse(args, { admin: { type: 'boolean' } });
  if (verb !== 'add' || !name) throw new UsageError('users add NAME [--admin]');
  process.stdout.write(`${await addUser(loadConfig(), name, { admin: values.admin === true })}\n`);
}
