/** The REST API: Fastify with one plugin per concern, versioned under /v1, OpenAPI at /docs. */
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceConfig } from '../config.js';
import { packageRoot } from '../paths.js';
import { pipelineParamsSchema } from '../pipeline/params.js';
import { connectRedis, createQueues, redisKeys } from '../queue/index.js';
import { createStorage } from '../storage/index.js';
import auth from './auth.js';
import type { ApiContext, DatasetInspector } from './context.js';
import datasetRoutes from './datasets.js';
import exploreRoutes from './explore.js';
import healthRoutes from './health.js';
import { createInspector } from './inspect.js';
import jobRoutes from './jobs.js';
import problems, { HttpProblem } from './problem.js';
import webRoutes from './web.js';

function apiSchema(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(packageRoot, 'schemas', `api-${name}.json`), 'utf8')) as Record<string, unknown>;
}

export interface BuildApiOptions {
  /** Replaces the dataset reader's inspectDataset (tests of the HTTP layer only). */
  inspect?: DatasetInspector;
  eventsPollMs?: number;
}

/** Query parameters that would carry an API key: refused, and never written to the log. */
const KEY_PARAMETERS = ['api_key', 'apikey', 'key', 'token', 'access_token'];
/** How often an API removes the partial uploads of processes that died (at each Redis connection too). */
const TEMP_SWEEP_MS = 10 * 60_000;
/** How long a stopping API lets requests in flight finish before it closes their connections. */
const CLOSE_GRACE_MS = 10_000;

/** The URL as logged: the values of key-carrying parameters replaced. */
function loggedUrl(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const query = new URLSearchParams(url.slice(at + 1));
  for (const name of KEY_PARAMETERS) if (query.has(name)) query.set(name, '[redacted]');
  return `${url.slice(0, at)}?${query.toString()}`;
}

/** A client-chosen request id is kept if it is short and plain, so logs can be joined across services. */
function requestId(header: string | string[] | undefined): string {
  return typeof header === 'string' && /^[\w.:-]{1,64}$/.test(header) ? header : randomUUID();
}

export async function buildApi(config: ServiceConfig, options: BuildApiOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'], censor: '[redacted]' },
      serializers: {
        req: (req: { method: string; url: string; hostname?: string; ip?: string; socket?: { remotePort?: number } }) => ({
          method: req.method,
          url: loggedUrl(req.url),
          host: req.hostname,
          remoteAddress: req.ip,
          remotePort: req.socket?.remotePort,
        }),
      },
    },
    genReqId: (req) => requestId(req.headers['x-request-id']),
    ajv: { customOptions: { removeAdditional: false } },
  });
  const redis = connectRedis(config, 'api');
  redis.on('error', (err) => app.log.warn({ err: { message: err.message } }, 'redis connection error'));
  const opened = createStorage(config, redis);
  // On each connection (a Redis that restarted may have lost its data): records of the store Redis has not
  // indexed, then uploads a killed API process left behind.
  redis.on('ready', () => {
    opened
      .then(async (storage) => {
        const indexed = await storage.indexStoredRecords();
        if (indexed > 0) app.log.info({ indexed }, 'stored records indexed in Redis');
        const swept = await storage.sweepTemp();
        if (swept > 0) app.log.info({ swept }, 'abandoned uploads removed');
      })
      .catch((err: Error) => app.log.warn({ err: { message: err.message } }, 'stored records not indexed or uploads not swept'));
  });
  const storage = await opened.catch((err: unknown) => {
    redis.disconnect();
    throw err;
  });
  const ctx: ApiContext = {
    config,
    storage,
    redis,
    keys: redisKeys(config.redisPrefix),
    queues: createQueues(config, redis),
    inspect: options.inspect ?? createInspector(config.inspectConcurrency),
    eventsPollMs: options.eventsPollMs ?? 1_000,
    counters: { uploadBytes: 0, uploadsAccepted: 0, uploadsRejected: 0 },
  };
  for (const queue of Object.values(ctx.queues)) queue.on('error', (err) => app.log.warn({ err: { message: err.message } }, 'queue error'));
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onRequest', async (request) => {
    const query = request.query as Record<string, unknown>;
    const named = KEY_PARAMETERS.find((name) => query[name] !== undefined);
    if (named) throw new HttpProblem(400, `an API key goes in the Authorization header (Bearer), never in the URL ("${named}"), where logs and histories keep it`);
  });
  // A body may be empty where a route takes none (POST .../cancel with a JSON content type); routes that need one validate it.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) =>
    body === '' ? done(null, undefined) : parseJson(request, body as string, done),
  );
  const sweep = setInterval(() => {
    storage.sweepTemp().catch((err: Error) => app.log.warn({ err: { message: err.message } }, 'temporary files not swept'));
  }, TEMP_SWEEP_MS).unref();
  app.addHook('onClose', async () => {
    clearInterval(sweep);
    await Promise.all(Object.values(ctx.queues).map((queue) => queue.close().catch(() => undefined)));
    redis.disconnect();
  });

  await app.register(problems);
  app.addSchema({ ...pipelineParamsSchema, $id: 'PipelineParams' });
  for (const name of ['problem', 'dataset', 'job']) app.addSchema(apiSchema(name));
  await app.register(swagger, {
    // Components keep their $id (Job, Dataset, Problem, PipelineParams) instead of def-N.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
    openapi: {
      openapi: '3.1.0',
      info: { title: 'scgmdvae', version: 'v1', description: 'Clusters, latent space and UMAP of single-cell RNA-seq datasets' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'A key from `users add`' } } },
      security: [{ apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  // An upload over the limit is cut short and answered 413 by the route, with the limit in words.
  await app.register(multipart, { throwFileSizeLimit: false });

  await app.register(healthRoutes, ctx);
  await app.register(
    async (v1) => {
      await v1.register(auth, { redis, prefix: config.redisPrefix });
      await v1.register(datasetRoutes, ctx);
      await v1.register(jobRoutes, ctx);
      await v1.register(exploreRoutes, ctx);
    },
    { prefix: '/v1' },
  );
  await app.register(webRoutes);
  return app;
}

export interface RunningApi {
  readonly app: FastifyInstance;
  /** Where it listens, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  stop(): Promise<void>;
}

/** `serve`: builds the API and listens on HOST:PORT. */
export async function startApi(config: ServiceConfig, options: BuildApiOptions = {}): Promise<RunningApi> {
  const app = await buildApi(config, options);
  try {
    const url = await app.listen({ port: config.port, host: config.host });
    const stop = async () => {
      const force = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
      await app.close();
      clearTimeout(force);
    };
    return { app, url, stop };
  } catch (error) {
    await app.close();
    throw error;
  }
}
