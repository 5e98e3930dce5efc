/** Datasets: streamed multipart upload (size-limited, hashed, inspected), list, show, delete. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InputError, redactPaths } from '../errors.js';
import type { DatasetRecord, ReceivedUpload } from '../storage/index.js';
import { canSee } from './auth.js';
import { idParams, type ApiContext } from './context.js';
import { decodeCursor, encodeCursor, pageQuery } from './cursor.js';
import { describeJob, isTerminal } from './job-status.js';
import { HttpProblem } from './problem.js';

/** Errors of the multipart parser (busboy) that mean the body is broken: a missing boundary, a body cut short. */
function isMalformedMultipart(err: unknown): boolean {
  return err instanceof Error && /^(Multipart: |Unexpected end of (form|file|multipart data)|Malformed part header|Part terminated early)/.test(err.message);
}

export default async function datasetRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { storage, config, counters } = ctx;

  async function ownedDataset(request: FastifyRequest<{ Params: { id: string } }>): Promise<DatasetRecord> {
    const record = await storage.getDataset(request.params.id);
    if (!record || !canSee(request.user, record.owner)) throw new HttpProblem(404, `no dataset ${request.params.id}`);
    return record;
  }

  app.post(
    '/datasets',
    {
      schema: {
        summary: 'Upload a dataset (.h5ad, 10x .h5, or a 10x MTX folder as .tar.gz / .zip)',
        description:
          'multipart/form-data with one file part (any field name). The format is detected from the content. ' +
          `Files over the size limit answer 413; files that are not a readable dataset answer 422 with the reader's message.`,
        tags: ['datasets'],
        consumes: ['multipart/form-data'],
        response: { 201: { $ref: 'Dataset#' } },
      },
    },
    async (request, reply) => {
      if (!request.isMultipart()) {
        throw new HttpProblem(415, `send the dataset as a file part of a multipart/form-data body, not ${request.headers['content-type'] ?? 'an untyped body'}`);
      }
      let upload: ReceivedUpload | undefined;
      let filename = '';
      try {
        for await (const part of request.parts({ limits: { fileSize: config.uploadMaxBytes, files: 2 } })) {
          if (part.type !== 'file') continue;
          if (upload) {
            part.file.resume();
            throw new HttpProblem(400, 'send one file per upload; this request holds a second file part');
          }
          // Over the limit the answer is 413 at once, not after the rest of the body.
          part.file.once('limit', () => part.file.destroy(new HttpProblem(413, `the file is larger than the upload limit of ${config.uploadMaxBytes} bytes`)));
          upload = await storage.receive(part.file);
          filename = part.filename;
        }
        if (!upload) throw new HttpProblem(400, 'send the dataset as a file part of a multipart/form-data body');
        const inspect = await ctx.inspect(upload.path, upload.bytes);
        const record: DatasetRecord = {
          id: upload.id,
          owner: request.user.name,
          filename: filename.slice(0, 255),
          bytes: upload.bytes,
          sha256: upload.sha256,
          created_at: new Date().toISOString(),
          inspect,
        };
        await storage.saveDataset(upload, record);
        counters.uploadBytes += upload.bytes;
        counters.uploadsAccepted += 1;
        request.log.info({ dataset: record.id, bytes: record.bytes, format: inspect.format }, 'dataset stored');
        return reply.code(201).header('location', `/v1/datasets/${record.id}`).send(record);
      } catch (err) {
        counters.uploadsRejected += 1;
        if (upload) await storage.discard(upload);
        if (err instanceof InputError) {
          // The reader names the file it read: that is our temporary path, which the client need not see.
          const detail = upload ? redactPaths(err.message, { [upload.path]: filename }) : err.message;
          throw new HttpProblem(422, detail, { title: 'Not a readable dataset' });
        }
        if (isMalformedMultipart(err)) throw new HttpProblem(400, `the multipart/form-data body is malformed (${(err as Error).message})`);
        throw err;
      }
    },
  );

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/datasets',
    {
      schema: {
        summary: 'Your datasets (all datasets for an admin), newest first',
        tags: ['datasets'],
        querystring: { type: 'object', additionalProperties: false, properties: pageQuery },
        response: {
          200: {
            type: 'object',
            properties: { datasets: { type: 'array', items: { $ref: 'Dataset#' } }, next_cursor: { type: ['string', 'null'] } },
          },
        },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      const page = await storage.listDatasets(request.user, cursor ? decodeCursor(cursor) : undefined, limit);
      const last = page.items.at(-1);
      return { datasets: page.items, next_cursor: page.more && last ? encodeCursor(last) : null };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/datasets/:id',
    { schema: { summary: 'One dataset and its inspect summary', tags: ['datasets'], params: idParams, response: { 200: { $ref: 'Dataset#' } } } },
    async (request) => ownedDataset(request),
  );

  app.delete<{ Params: { id: string } }>(
    '/datasets/:id',
    {
      schema: {
        summary: 'Delete a dataset; refused (409) while a job that reads it has not ended',
        tags: ['datasets'],
        params: idParams,
        response: { 204: { type: 'null', description: 'Deleted' } },
      },
    },
    async (request, reply) => {
      const dataset = await ownedDataset(request);
      // Jobs still registered on the dataset whose end no worker released (one that died) are asked of the queue,
      // up to the first that has not ended: that one is the answer.
      let running: { id: string; state: string } | undefined;
      const finished = async (jobIds: string[]) => {
        const ended: string[] = [];
        for (const jobId of jobIds) {
          const job = await storage.getJob(jobId);
          const state = job ? (await describeJob(ctx, job)).state : undefined;
          if (state && !isTerminal(state)) {
            running = { id: jobId, state };
            break;
          }
          ended.push(jobId);
        }
        return ended;
      };
      const result = await storage.deleteDataset(dataset, finished);
      if ('missing' in result) throw new HttpProblem(404, `no dataset ${dataset.id}`);
      if ('usedBy' in result) {
        const job = running ?? { id: result.usedBy[0], state: 'QUEUED' };
        throw new HttpProblem(409, `job ${job.id} (${job.state}) uses this dataset; cancel it or wait for it to end`);
      }
      request.log.info({ dataset: dataset.id }, 'dataset deleted');
      return reply.code(204).send();
    },
  );
}
