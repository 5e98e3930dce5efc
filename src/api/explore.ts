/**
 * What the web page reads to explore a complete job: the embedding with its annotations as one binary payload, the
 * job's gene names, and one gene's values for every cell, read from expression.bin without loading the matrix.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { readExpressionIndex, readGeneValues, type ExpressionIndex, type RangeReader } from '../io/expression-file.js';
import type { ResultFileName } from '../pipeline/result-files.js';
import { idParams, type ApiContext } from './context.js';
import { completedJob } from './owned-job.js';
import { HttpProblem } from './problem.js';

/** Gene indexes kept in memory (one per recently explored job; a header holds the job's gene names). */
const INDEX_CACHE_SIZE = 8;

const binary = (description: string) => ({ description, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } });

function missingFile(name: ResultFileName): HttpProblem {
  return new HttpProblem(404, `this job's results have no ${name} (it finished before this version of the service wrote one); run the analysis again`);
}

export default async function exploreRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { storage } = ctx;
  // Results never change once a job is COMPLETE, so an index read once stays valid.
  const indexes = new Map<string, ExpressionIndex>();

  const expressionReader = (jobId: string): RangeReader => async (start, length) => {
    const bytes = await storage.readResultRange(jobId, 'expression.bin', start, length);
    if (!bytes) throw missingFile('expression.bin');
    return bytes;
  };

  async function expressionIndex(jobId: string): Promise<ExpressionIndex> {
    const cached = indexes.get(jobId);
    if (cached) {
      indexes.delete(jobId);
      indexes.set(jobId, cached);
      return cached;
    }
    const index = await readExpressionIndex(expressionReader(jobId));
    if (indexes.size >= INDEX_CACHE_SIZE) indexes.delete(indexes.keys().next().value!);
    indexes.set(jobId, index);
    return index;
  }

  app.get<{ Params: { id: string } }>(
    '/jobs/:id/embedding',
    {
      schema: {
        summary: "The UMAP and every cell's annotations, as the page draws them (embedding.bin)",
        description:
          'A block file (little-endian): 4 bytes magic "SCGE", uint32 version, uint32 header length H, H bytes of JSON ' +
          '(n_cells, embedding, columns: name, role, kind, categories; blocks: name -> dtype, length, offset), then the blocks ' +
          'from byte 12 + H: coords (float32, x and y interleaved), barcode_offsets (uint32) and barcode_bytes (UTF-8), and ' +
          'column_<i> per column (int32 category codes, -1 missing; or float32 values). README.md describes it in full.',
        tags: ['explore'],
        params: idParams,
        response: { 200: binary('embedding.bin') },
      },
    },
    async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
      const record = await completedJob(ctx, request);
      const file = await storage.openResult(record.id, 'embedding.bin');
      if (!file) throw missingFile('embedding.bin');
      return reply.type('application/octet-stream').header('content-length', file.size).header('cache-control', 'no-store').send(file.stream);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/jobs/:id/genes',
    {
      schema: {
        summary: "The job's genes, in the order of its matrix: the names /expression accepts",
        tags: ['explore'],
        params: idParams,
        response: { 200: { type: 'object', required: ['genes'], properties: { genes: { type: 'array', items: { type: 'string' } } } } },
      },
    },
    async (request) => {
      const record = await completedJob(ctx, request);
      return { genes: (await expressionIndex(record.id)).genes };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { gene: string } }>(
    '/jobs/:id/expression',
    {
      schema: {
        summary: "One gene's log-normalised expression in every cell",
        description:
          'n_cells float32 values (little-endian), in the order of the cells of /embedding; 0 where the gene was not detected. ' +
          'An unknown gene answers 404; /genes lists the names.',
        tags: ['explore'],
        params: idParams,
        querystring: {
          type: 'object',
          required: ['gene'],
          additionalProperties: false,
          properties: { gene: { type: 'string', minLength: 1, maxLength: 200, description: 'Gene name, exactly as /genes lists it' } },
        },
        response: { 200: binary('Float32 values, one per cell') },
      },
    },
    async (request, reply) => {
      const record = await completedJob(ctx, request);
      const index = await expressionIndex(record.id);
      const column = index.column.get(request.query.gene);
      if (column === undefined) throw new HttpProblem(404, `no gene "${request.query.gene}" among this job's ${index.genes.length} genes`);
      const values = await readGeneValues(expressionReader(record.id), index, column);
      return reply
        .type('application/octet-stream')
        .header('cache-control', 'no-store')
        .send(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    },
  );
}
