/** The job a request names, if its user may see it (404 otherwise, as if it did not exist), and its finished results. */
import type { FastifyRequest } from 'fastify';
import type { JobRecord } from '../storage/index.js';
import { canSee } from './auth.js';
import type { ApiContext } from './context.js';
import { describeJob } from './job-status.js';
import { HttpProblem } from './problem.js';

export async function ownedJob(ctx: ApiContext, request: FastifyRequest<{ Params: { id: string } }>): Promise<JobRecord> {
  const record = await ctx.storage.getJob(request.params.id);
  if (!record || !canSee(request.user, record.owner)) throw new HttpProblem(404, `no job ${request.params.id}`);
  return record;
}

/** A job whose results can be read: 409 until it is COMPLETE. */
export async function completedJob(ctx: ApiContext, request: FastifyRequest<{ Params: { id: string } }>): Promise<JobRecord> {
  const record = await ownedJob(ctx, request);
  const { state } = await describeJob(ctx, record);
  if (state !== 'COMPLETE') throw new HttpProblem(409, `the job is ${state}; results exist once it is COMPLETE`);
  return record;
}
