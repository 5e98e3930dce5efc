/**
 * Listing latency with many jobs stored: GET /v1/jobs (first page and a deep page by cursor), GET /v1/datasets and
 * the refused DELETE of a dataset that queued jobs use, with JOBS jobs of one user queued (no worker) on one dataset.
 * The API is the one of the checkout at --repo (default this one), run in this process, so the same script
 * measures main's code (records as files, read in full per listing) and this branch's (Redis indexes).
 * Needs Redis on REDIS_URL (keys under a private prefix, deleted after).
 * Usage: tsx bench/listing.ts [--repo ../main] [--jobs 10000] [--requests 100] [--label after]; JSON to bench/out/listing-<label>.json.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { repoRoot } from './generate.js';

const { values: args } = parseArgs({
  options: {
    repo: { type: 'string', default: repoRoot },
    jobs: { type: 'string', default: '10000' },
    requests: { type: 'string', default: '100' },
    label: { type: 'string', default: 'after' },
  },
});
const repo = resolve(args.repo!);
const JOBS = Number(args.jobs);
const REQUESTS = Number(args.requests);
const SUBMITTERS = 16;

type StartApi = (config: unknown) => Promise<{ url: string; stop(): Promise<void> }>;
const { startApi } = (await import(pathToFileURL(join(repo, 'src/api/app.ts')).href)) as { startApi: StartApi };
const { addUser } = (await import(pathToFileURL(join(repo, 'src/api/auth.ts')).href)) as { addUser: (config: unknown, name: string) => Promise<string> };
const { loadConfig } = (await import(pathToFileURL(join(repo, 'src/config.ts')).href)) as { loadConfig: (env: Record<string, string>) => { redisUrl: string } };

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const dataDir = await mkdtemp(join(tmpdir(), 'scgmdvae-listing-'));
const prefix = `scgbench-${randomUUID().slice(0, 8)}`;
const config = loadConfig({ DATA_DIR: dataDir, REDIS_PREFIX: prefix, LOG_LEVEL: 'silent', PORT: '0', SUBMIT_RATE_LIMIT: '100000' });
const api = await startApi(config);
const key = await addUser(config, 'bench');
const headers = { authorization: `Bearer ${key}` };

async function timed(path: string, init: RequestInit = {}): Promise<{ ms: number; body: unknown; status: number }> {
  const start = performance.now();
  const response = await fetch(`${api.url}${path}`, { ...init, headers: { ...headers, ...(init.headers ?? {}) } });
  const body = response.status === 204 ? null : await response.json();
  return { ms: performance.now() - start, body, status: response.status };
}

async function latency(path: string, init: RequestInit = {}, expect = 200, requests = REQUESTS): Promise<{ p50_ms: number; p99_ms: number }> {
  const times: number[] = [];
  for (let i = 0; i < requests; i++) {
    const { ms, status } = await timed(path, init);
    if (status !== expect) throw new Error(`${path}: HTTP ${status}`);
    times.push(ms);
  }
  times.sort((a, b) => a - b);
  return { p50_ms: Number(percentile(times, 50).toFixed(2)), p99_ms: Number(percentile(times, 99).toFixed(2)) };
}

try {
  const form = new FormData();
  form.append('file', new Blob([await readFile(join(repoRoot, 'test/fixtures/service/tenx_v2_hg19_chr21.h5'))]), 'tenx.h5');
  const dataset = (await (await fetch(`${api.url}/v1/datasets`, { method: 'POST', headers, body: form })).json()) as { id: string };

  const seedStart = performance.now();
  let submitted = 0;
  await Promise.all(
    Array.from({ length: SUBMITTERS }, async () => {
      while (submitted < JOBS) {
        submitted += 1;
        const response = await fetch(`${api.url}/v1/jobs`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ dataset_id: dataset.id, params: { epochs: 1 } }),
        });
        if (response.status !== 202) throw new Error(`submit: HTTP ${response.status} ${await response.text()}`);
        await response.arrayBuffer();
      }
    }),
  );
  const seedSeconds = (performance.now() - seedStart) / 1000;

  // A cursor up to 100 pages deep, walked once before timing.
  let cursor: string | null = null;
  let depth = 0;
  for (; depth < 100; depth++) {
    const listed = (await timed(`/v1/jobs?limit=50${cursor ? `&cursor=${cursor}` : ''}`)).body as { next_cursor: string | null };
    if (!listed.next_cursor) break;
    cursor = listed.next_cursor;
  }
  const result = {
    label: args.label,
    repo,
    jobs: JOBS,
    requests_per_route: REQUESTS,
    seed_submissions_per_second: Number((JOBS / seedSeconds).toFixed(1)),
    jobs_first_page: await latency('/v1/jobs?limit=50'),
    deep_page: depth + 1,
    jobs_deep_page: await latency(`/v1/jobs?limit=50&cursor=${cursor}`),
    // No job is COMPLETE: the filter looks as far as the listing lets it (main: every job; here: a budget), a tenth as often.
    jobs_state_filter: await latency('/v1/jobs?limit=50&state=COMPLETE', {}, 200, Math.ceil(REQUESTS / 10)),
    datasets: await latency('/v1/datasets'),
    delete_refused_409: await latency(`/v1/datasets/${dataset.id}`, { method: 'DELETE' }, 409),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  const out = join(repoRoot, 'bench', 'out');
  await mkdir(out, { recursive: true });
  await writeFile(join(out, `listing-${args.label}.json`), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await api.stop();
  const redis = new Redis(config.redisUrl);
  let scanCursor = '0';
  do {
    const [next, found] = await redis.scan(scanCursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (found.length) await redis.del(...found);
    scanCursor = next;
  } while (scanCursor !== '0');
  redis.disconnect();
  await rm(dataDir, { recursive: true, force: true });
}
