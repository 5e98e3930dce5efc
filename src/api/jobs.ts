/** Analysis jobs: submit, list, poll (ETag), cancel, follow (Server-Sent Events) and download results. */
import { Ajv } from 'ajv';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHash, randomUUID } from 'node:crypto';
import { resolveParams } from '../pipeline/params.js';
import { CONDITION_UMAP_PATTERN, RESULT_FILES, resultContentType } from '../pipeline/result-files.js';
import { routeJob } from '../queue/index.js';
import type { JobRecord } from '../storage/index.js';
import { canSee } from './auth.js';
import { idParams, type ApiContext } from './context.js';
import { decodeCursor, encodeCursor, pageQuery } from './cursor.js';
import { WES_STATES, describeJob, enqueue, etagOf, isTerminal, type JobView } from './job-status.js';
import { completedJob, ownedJob as findOwnedJob } from './owned-job.js';
import { HttpProblem } from './problem.js';

/** How long an Idempotency-Key is remembered. */
const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
/** What a client should wait between polls of a running job. */
const POLL_AFTER_SECONDS = '5';
const SSE_KEEPALIVE_MS = 15_000;
/** A listing filtered by state looks at this many jobs at most; it returns a cursor to go on from there. */
const STATE_SCAN_BUDGET = 1_000;

const submitBody = {
  type: 'object',
  required: ['dataset_id'],
  additionalProperties: false,
  properties: {
    dataset_id: { type: 'string', format: 'uuid' },
    params: { $ref: 'PipelineParams#', description: 'Pipeline parameters; omitted ones take their defaults' },
  },
} as const;

/**
 * The submit body is checked here except `params`, which resolveParams checks so that the answer names each bad
 * key (422) exactly as the CLI does; the route schema still shows the full parameter schema in OpenAPI.
 */
const submitValidator = (() => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  const validate = ajv.compile({ ...submitBody, properties: { ...submitBody.properties, params: {} } });
  return (data: unknown) => (validate(data) ? { value: data } : { error: Object.assign(new Error('invalid body'), { validation: validate.errors }) });
})();

interface ListQuery {
  state?: (typeof WES_STATES)[number];
  limit: number;
  cursor?: string;
}

function requestHash(datasetId: string, params: unknown): string {
  return createHash('sha256').update(JSON.stringify([datasetId, params])).digest('hex');
}

export default async function jobRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { storage, redis, keys, queues, config } = ctx;

  const ownedJob = (request: FastifyRequest<{ Params: { id: string } }>) => findOwnedJob(ctx, request);

  function accepted(reply: FastifyReply, view: JobView): FastifyReply {
    return reply.code(202).header('location', view.links.self).header('retry-after', POLL_AFTER_SECONDS).send(view);
  }

  /** Fixed one-minute windows per user: simple, and exact enough to stop a runaway script. */
  async function checkRateLimit(user: string): Promise<void> {
    const minute = Math.floor(Date.now() / 60_000);
    const key = keys.submissions(user, minute);
    const [[, count]] = (await redis.multi().incr(key).expire(key, 120).exec()) as [[Error | null, number]];
    if (count > config.submitRateLimit) {
      const retryAfter = String(60 - Math.floor((Date.now() / 1000) % 60));
      throw new HttpProblem(429, `at most ${config.submitRateLimit} submissions a minute per user`, { headers: { 'retry-after': retryAfter } });
    }
  }

  app.post<{ Body: { dataset_id: string; params?: unknown }; Headers: { 'idempotency-key'?: string } }>(
    '/jobs',
    {
      validatorCompiler: ({ httpPart }) => (httpPart === 'body' ? submitValidator : (data: unknown) => ({ value: data })),
      schema: {
        summary: 'Submit an analysis of one of your datasets',
        tags: ['jobs'],
        headers: {
          type: 'object',
          properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 200, description: 'Retrying with the same key returns the same job' } },
        },
        body: submitBody,
        response: { 202: { $ref: 'Job#' } },
      },
    },
    async (request, reply) => {
      const user = request.user;
      const idempotencyKey = request.headers['idempotency-key'];
      if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,200}$/.test(idempotencyKey)) {
        throw new HttpProblem(400, 'Idempotency-Key must be 1 to 200 printable ASCII characters');
      }
      const dataset = await storage.getDataset(request.body.dataset_id);
      if (!dataset || !canSee(user, dataset.owner)) throw new HttpProblem(404, `no dataset ${request.body.dataset_id}`);
      const params = resolveParams(request.body.params ?? {});
      const hash = requestHash(dataset.id, params);

      const idempotencyRedisKey = idempotencyKey ? keys.idempotency(user.name, idempotencyKey) : undefined;
      const sameRequest = async (): Promise<FastifyReply | undefined> => {
        const existingId = idempotencyRedisKey ? await redis.get(idempotencyRedisKey) : null;
        const existing = existingId ? await storage.getJob(existingId) : undefined;
        if (!existing) return undefined;
        if (existing.request_hash !== hash) {
          throw new HttpProblem(422, 'this Idempotency-Key was already used for a different request; use a new key');
        }
        return accepted(reply, await describeJob(ctx, existing));
      };
      const replay = await sameRequest();
      if (replay) return replay;

      await checkRateLimit(user.name);
      const record: JobRecord = {
        id: randomUUID(),
        owner: user.name,
        dataset_id: dataset.id,
        params: params as unknown as Record<string, unknown>,
        created_at: new Date().toISOString(),
        request_hash: hash,
        queue: await routeJob(config, redis, Number(dataset.inspect['nnz'] ?? 0)),
      };
      if (idempotencyRedisKey) {
        const claimed = await redis.set(idempotencyRedisKey, record.id, 'EX', IDEMPOTENCY_TTL_SECONDS, 'NX');
        // A concurrent retry with the same key won the race: answer with its job.
        if (claimed === null) {
          const replayed = await sameRequest();
          if (replayed) return replayed;
          throw new HttpProblem(409, 'a request with this Idempotency-Key is still being processed; retry in a moment', { headers: { 'retry-after': '1' } });
        }
      }
      const forget = () => (idempotencyRedisKey ? redis.del(idempotencyRedisKey).catch(() => undefined) : undefined);
      if (!(await storage.submitJob(record))) {
        await forget();
        throw new HttpProblem(404, `no dataset ${dataset.id} (it was deleted)`);
      }
      try {
        await enqueue(ctx, record);
      } catch (err) {
        await storage.withdrawJob(record);
        await forget();
        throw err;
      }
      request.log.info({ job: record.id, dataset: dataset.id, queue: record.queue }, 'job submitted');
      return accepted(reply, await describeJob(ctx, record));
    },
  );

  app.get<{ Querystring: ListQuery }>(
    '/jobs',
    {
      schema: {
        summary: 'Your jobs (all jobs for an admin), newest first',
        tags: ['jobs'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { enum: [...WES_STATES], description: `Only jobs in this state; a page then looks at ${STATE_SCAN_BUDGET} jobs at most` },
            ...pageQuery,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { jobs: { type: 'array', items: { $ref: 'Job#' } }, next_cursor: { type: ['string', 'null'] } },
          },
        },
      },
    },
    async (request) => {
      const { state, limit, cursor } = request.query;
      let after = cursor ? decodeCursor(cursor) : undefined;
      const jobs: JobView[] = [];
      let scanned = 0;
      for (;;) {
        const page = await storage.listJobs(request.user, after, limit);
        const views = await Promise.all(page.items.map((record) => describeJob(ctx, record)));
        for (const [i, record] of page.items.entries()) {
          const view = views[i]!;
          if (!state || view.state === state) jobs.push(view);
          scanned += 1;
          after = record;
          const more = i < page.items.length - 1 || page.more;
          if (jobs.length === limit || scanned >= STATE_SCAN_BUDGET) return { jobs, next_cursor: more ? encodeCursor(record) : null };
        }
        if (!page.more) return { jobs, next_cursor: null };
      }
    },
  );

  app.get<{ Params: { id: string } }>(
    '/jobs/:id',
    {
      schema: {
        summary: 'A job: state, progress, attempts, error and result links',
        description: 'Send the ETag back as If-None-Match: an unchanged job answers 304 with no body.',
        tags: ['jobs'],
        params: idParams,
        response: { 200: { $ref: 'Job#' }, 304: { type: 'null', description: 'Not modified' } },
      },
    },
    async (request, reply) => {
      const view = await describeJob(ctx, await ownedJob(request));
      const etag = etagOf(view);
      reply.header('etag', etag).header('cache-control', 'private, no-cache');
      if (!isTerminal(view.state)) reply.header('retry-after', POLL_AFTER_SECONDS);
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag || tag.trim() === '*')) {
        return reply.code(304).send();
      }
      return view;
    },
  );

  app.post<{ Params: { id: string } }>(
    '/jobs/:id/cancel',
    {
      schema: {
        summary: 'Cancel a job: a queued one at once, a running one within one training epoch',
        tags: ['jobs'],
        params: idParams,
        response: { 202: { $ref: 'Job#' } },
      },
    },
    async (request, reply) => {
      const record = await ownedJob(request);
      const before = await describeJob(ctx, record);
      if (before.state === 'CANCELED' || before.state === 'CANCELING') return accepted(reply, before);
      if (isTerminal(before.state)) throw new HttpProblem(409, `the job already ended (${before.state})`);
      await redis.set(keys.cancel(record.id), request.user.name, 'EX', config.jobRetentionSeconds);
      const job = await queues[record.queue].getJob(record.id);
      // A job no worker holds is removed here; a running one is stopped by its worker, which polls the flag.
      const removed = job ? await job.remove().then(() => true, () => false) : false;
      if (removed) {
        await storage.setOutcome(record.id, { state: 'CANCELED', finished_at: new Date().toISOString(), attempts: job!.attemptsStarted });
        await storage.releaseJob(record.id, record.dataset_id);
      }
      request.log.info({ job: record.id, removed }, 'cancel requested');
      return accepted(reply, await describeJob(ctx, record));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/jobs/:id/events',
    {
      schema: {
        summary: 'Server-Sent Events: a "status" event (the Job JSON) whenever the job changes, until it ends',
        tags: ['jobs'],
        params: idParams,
        produces: ['text/event-stream'],
      },
    },
    async (request, reply) => {
      const record = await ownedJob(request);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-request-id': request.id,
      });
      let closed = false;
      request.raw.on('close', () => (closed = true));
      let lastEtag = '';
      let lastWrite = Date.now();
      let eventId = 0;
      while (!closed) {
        try {
          const view = await describeJob(ctx, record);
          const etag = etagOf(view);
          if (etag !== lastEtag) {
            lastEtag = etag;
            raw.write(`id: ${++eventId}\nevent: status\ndata: ${JSON.stringify(view)}\n\n`);
            lastWrite = Date.now();
          }
          if (isTerminal(view.state)) break;
        } catch (err) {
          request.log.warn({ err }, 'events: status unavailable');
          raw.write(`event: error\ndata: ${JSON.stringify({ detail: 'status temporarily unavailable' })}\n\n`);
        }
        if (Date.now() - lastWrite > SSE_KEEPALIVE_MS) {
          raw.write(': keep-alive\n\n');
          lastWrite = Date.now();
        }
        await new Promise((resolve) => setTimeout(resolve, ctx.eventsPollMs));
      }
      raw.end();
    },
  );

  app.get<{ Params: { id: string; name: string } }>(
    '/jobs/:id/results/:name',
    {
      schema: {
        summary: 'Download one result file of a complete job',
        description: 'Streamed by the API, or, when the store presigns downloads (S3_PRESIGN=true), a 302 redirect to a short-lived URL of the store.',
        tags: ['jobs'],
        params: {
          type: 'object',
          required: ['id', 'name'],
          properties: { id: idParams.properties.id, name: { anyOf: [{ enum: Object.keys(RESULT_FILES) }, { type: 'string', pattern: CONDITION_UMAP_PATTERN }] } },
        },
        produces: [...new Set<string>(Object.values(RESULT_FILES))],
      },
    },
    async (request, reply) => {
      const record = await completedJob(ctx, request);
      const { name } = request.params;
      const type = resultContentType(name);
      const missing = () => new HttpProblem(404, `this job did not produce ${name}`);
      if (type === undefined) throw missing();
      const filename = `${record.id}-${name}`;
      const url = await storage.resultUrl(record.id, name, { contentType: type, filename });
      if (url) {
        // A redirect to a file that is not there would answer in the store's words: checked here with a 1-byte read.
        if ((await storage.readResultRange(record.id, name, 0, 1)) === undefined) throw missing();
        return reply.redirect(url, 302);
      }
      const file = await storage.openResult(record.id, name);
      if (!file) throw missing();
      return reply.type(type).header('content-length', file.size).header('content-disposition', `attachment; filename="${filename}"`).send(file.stream);
    },
  );
}
