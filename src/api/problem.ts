/**
 * Errors as RFC 9457 problem details (application/problem+json), everywhere: thrown HttpProblems, input
 * errors from the reader and the parameter check, Fastify's own errors, Redis outages and the unexpected.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { STATUS_CODES } from 'node:http';
import { InputError } from '../errors.js';

export const PROBLEM_TYPE = 'application/problem+json';

export class HttpProblem extends Error {
  override readonly name = 'HttpProblem';
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly extra: { headers?: Record<string, string>; problems?: string[]; title?: string } = {},
  ) {
    super(detail);
  }
}

/** Errors that mean "Redis is unreachable" rather than a bug: the API answers 503 and stays up. */
export function isUnavailable(err: unknown): boolean {
  const error = err as { name?: string; message?: string; code?: string };
  return (
    error?.name === 'MaxRetriesPerRequestError' ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTCONN'].includes(error?.code ?? '') ||
    /enableOfflineQueue|Connection is closed|Stream isn't writeable|connect ECONNREFUSED/i.test(error?.message ?? '')
  );
}

/** Errors that mean the disk (or quota) is full: the machine, not the request, is short of room. */
function isOutOfSpace(err: unknown): boolean {
  return ['ENOSPC', 'EDQUOT'].includes((err as { code?: string })?.code ?? '');
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, status: number, detail: string, extra: HttpProblem['extra'] = {}): FastifyReply {
  for (const [name, value] of Object.entries(extra.headers ?? {})) reply.header(name, value);
  // An answer before the whole body arrived (a 413 mid-upload) closes the connection, so the server need not wait out the rest.
  if (!request.raw.complete) reply.header('connection', 'close');
  return reply
    .code(status)
    .type(PROBLEM_TYPE)
    .send({
      type: 'about:blank',
      title: extra.title ?? STATUS_CODES[status] ?? 'Error',
      status,
      detail,
      instance: request.url.split('?')[0],
      request_id: request.id,
      ...(extra.problems ? { problems: extra.problems } : {}),
    });
}

async function problemPlugin(app: FastifyInstance): Promise<void> {
  app.setNotFoundHandler((request, reply) => sendProblem(request, reply, 404, `no route ${request.method} ${request.url.split('?')[0]}`));

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof HttpProblem) return sendProblem(request, reply, err.status, err.detail, err.extra);
    if (err instanceof InputError) {
      const problems = (err as InputError & { problems?: string[] }).problems;
      return sendProblem(request, reply, 422, err.message, { title: err.name, problems });
    }
    if (err.validation) {
      const problems = err.validation.map((v) => `${err.validationContext ?? 'request'}${v.instancePath} ${v.message ?? 'is invalid'}`);
      return sendProblem(request, reply, 400, problems.join('; '), { problems });
    }
    if (isUnavailable(err)) {
      request.log.warn({ err: { name: err.name, message: err.message } }, 'storage backend unavailable');
      return sendProblem(request, reply, 503, 'the job queue (Redis) is unreachable; try again shortly', {
        headers: { 'retry-after': '5' },
      });
    }
    if (isOutOfSpace(err)) {
      request.log.error({ err: { code: err.code, message: err.message } }, 'out of disk space');
      return sendProblem(request, reply, 507, 'the server is out of storage space; try again later', { headers: { 'retry-after': '60' } });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return sendProblem(request, reply, err.statusCode, err.message);
    }
    request.log.error({ err }, 'unexpected error');
    return sendProblem(request, reply, 500, 'internal error; quote the request_id when reporting it');
  });
}

export default fp(problemPlugin, { name: 'problem' });
