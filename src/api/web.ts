/**
 * The web page at `/`: the files `npm run build` writes to dist/web, served with a strict Content-Security-Policy
 * (scripts, styles and connections from this origin only, nothing inline, no eval, no frames).
 */
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { packageRoot } from '../paths.js';
import { HttpProblem } from './problem.js';

export const WEB_ROOT = join(packageRoot, 'dist', 'web');

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
].join('; ');

const PAGE_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export default async function webRoutes(app: FastifyInstance, options: { root?: string } = {}): Promise<void> {
  const root = options.root ?? WEB_ROOT;
  if (!existsSync(join(root, 'index.html'))) {
    app.get('/', { schema: { hide: true } }, async () => {
      throw new HttpProblem(503, 'the web page is not built: run `npm run build` (or `npm start`, which builds it)');
    });
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    decorateReply: false,
    index: ['index.html'],
    cacheControl: false,
    setHeaders: (reply: { header(name: string, value: string): unknown }, path: string) => {
      for (const [name, value] of Object.entries(PAGE_HEADERS)) reply.header(name, value);
      // Vite names assets by content hash, so they never change; the page itself is checked on every load.
      reply.header('cache-control', basename(join(path, '..')) === 'assets' ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
