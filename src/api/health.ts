/** /healthz (the process answers), /readyz (Redis reachable and a worker seen recently), /metrics (Prometheus). */
import type { FastifyInstance } from 'fastify';
import { DURATION_BUCKETS_SECONDS, WORKER_SEEN_WINDOW_MS } from '../queue/index.js';
import type { ApiContext } from './context.js';
import { sendProblem } from './problem.js';
import { TERMINAL_STATES } from './job-status.js';

const QUEUE_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'] as const;

function metric(name: string, type: string, help: string, samples: [labels: string, value: number][]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [labels, value] of samples) lines.push(`${name}${labels ? `{${labels}}` : ''} ${value}`);
  return lines.join('\n');
}

export default async function healthRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const hidden = { hide: true };

  app.get('/healthz', { schema: { ...hidden } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { ...hidden } }, async (request, reply) => {
    let workers: number;
    try {
      workers = await ctx.redis.zcount(ctx.keys.workers, Date.now() - WORKER_SEEN_WINDOW_MS, '+inf');
    } catch {
      return sendProblem(request, reply, 503, 'Redis is unreachable');
    }
    if (workers === 0) return sendProblem(request, reply, 503, `no worker seen in the last ${WORKER_SEEN_WINDOW_MS / 1000} s`);
    return { status: 'ready', workers };
  });

  app.get('/metrics', { schema: { ...hidden } }, async (request, reply) => {
    const { counters } = ctx;
    const parts = [
      metric('scgmdvae_upload_bytes_total', 'counter', 'Bytes of accepted uploads (this API process)', [['', counters.uploadBytes]]),
      metric('scgmdvae_uploads_total', 'counter', 'Uploads by result (this API process)', [
        ['result="accepted"', counters.uploadsAccepted],
        ['result="rejected"', counters.uploadsRejected],
      ]),
    ];
    try {
      const queues = Object.entries(ctx.queues);
      const counts = await Promise.all(queues.map(([, queue]) => queue.getJobCounts(...QUEUE_STATES)));
      parts.push(
        metric(
          'scgmdvae_queue_jobs',
          'gauge',
          'Jobs in each queue by BullMQ state',
          queues.flatMap(([name], i) => QUEUE_STATES.map((s): [string, number] => [`queue="${name}",state="${s}"`, counts[i]![s] ?? 0])),
        ),
      );
      const histograms = await Promise.all(TERMINAL_STATES.map((state) => ctx.redis.hgetall(ctx.keys.durations(state))));
      const lines = [
        '# HELP scgmdvae_job_duration_seconds Run time of finished job attempts, by final state',
        '# TYPE scgmdvae_job_duration_seconds histogram',
      ];
      TERMINAL_STATES.forEach((state, i) => {
        const h = histograms[i];
        for (const le of DURATION_BUCKETS_SECONDS) lines.push(`scgmdvae_job_duration_seconds_bucket{state="${state}",le="${le}"} ${Number(h[String(le)] ?? 0)}`);
        lines.push(`scgmdvae_job_duration_seconds_bucket{state="${state}",le="+Inf"} ${Number(h.count ?? 0)}`);
        lines.push(`scgmdvae_job_duration_seconds_sum{state="${state}"} ${Number(h.sum ?? 0)}`);
        lines.push(`scgmdvae_job_duration_seconds_count{state="${state}"} ${Number(h.count ?? 0)}`);
      });
      parts.push(lines.join('\n'));
      parts.push(metric('scgmdvae_redis_up', 'gauge', 'Whether Redis answered this scrape', [['', 1]]));
    } catch (err) {
      request.log.warn({ err: { message: (err as Error).message } }, 'metrics: Redis unavailable');
      parts.push(metric('scgmdvae_redis_up', 'gauge', 'Whether Redis answered this scrape', [['', 0]]));
    }
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(`${parts.join('\n')}\n`);
  });
}
