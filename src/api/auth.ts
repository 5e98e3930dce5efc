/**
 * API keys: `Authorization: Bearer <key>`. Keys are random, shown once by `users add`, and stored only as
 * their sha256 (a fast hash is enough for 192-bit random keys; a slow one only guards guessable secrets).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InputError } from '../errors.js';
import fp from 'fastify-plugin';
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ServiceConfig } from '../config.js';
import { connectRedis, redisKeys } from '../queue/index.js';
import { HttpProblem } from './problem.js';

export interface ApiUser {
  name: string;
  admin: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    user: ApiUser;
  }
}

const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * `users add NAME [--admin]`: creates the user if new (else sets its admin flag) and returns a new API key for it,
 * which the CLI prints once; only the key's hash is stored.
 */
export async function addUser(config: ServiceConfig, name: string, options: { admin?: boolean } = {}): Promise<string> {
  if (!USER_NAME.test(name)) throw new InputError(`invalid user name '${name}': letters, digits and _.@- only, at most 64`);
  const keys = redisKeys(config.redisPrefix);
  const key = `scg_${randomBytes(24).toString('base64url')}`;
  const now = new Date().toISOString();
  const redis = connectRedis(config, 'cli');
  // Failures surface through the command's rejection; the error event only repeats them.
  redis.on('error', () => undefined);
  try {
    await redis
      .multi()
      .hset(keys.user(name), { admin: options.admin ? '1' : '0', updated_at: now })
      .hset(keys.apiKey(hashKey(key)), { user: name, created_at: now })
      .exec();
    return key;
  } finally {
    redis.disconnect();
  }
}

/** Verified keys are remembered this long, so a poller costs no Redis lookups for its key. */
const KEY_CACHE_MS = 10_000;
const KEY_CACHE_SIZE = 10_000;

async function authPlugin(app: FastifyInstance, options: { redis: Redis; prefix: string }): Promise<void> {
  const keys = redisKeys(options.prefix);
  const verified = new Map<string, { user: ApiUser; until: number }>();

  async function lookup(keyHash: string): Promise<ApiUser | undefined> {
    const cached = verified.get(keyHash);
    if (cached && cached.until > Date.now()) return cached.user;
    const name = await options.redis.hget(keys.apiKey(keyHash), 'user');
    if (!name) return undefined;
    const user = { name, admin: (await options.redis.hget(keys.user(name), 'admin')) === '1' };
    if (verified.size >= KEY_CACHE_SIZE) verified.clear();
    verified.set(keyHash, { user, until: Date.now() + KEY_CACHE_MS });
    return user;
  }

  app.decorateRequest('user', null as unknown as ApiUser);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    const challenge = { headers: { 'www-authenticate': 'Bearer realm="scgmdvae"' } };
    if (!match) throw new HttpProblem(401, 'send your API key as "Authorization: Bearer <key>"', challenge);
    const user = await lookup(hashKey(match[1]));
    if (!user) throw new HttpProblem(401, 'unknown API key', challenge);
    request.user = user;
  });
}

/** Authenticates every route registered in the same scope. */
export default fp(authPlugin, { name: 'auth' });

/** Admins see everything; others only what they own. */
export function canSee(user: ApiUser, owner: string): boolean {
  return user.admin || user.name === owner;
}
