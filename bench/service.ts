/**
 * Service benchmark, over loopback, with the API in its own process (so its memory is measured alone):
 *  1. upload throughput (MB/s) of a ~200 MB h5ad (bench/generate.ts: 100k pbmc3k cells) and the API's RSS while
 *     it streams, hashes and stores the file, then while the reader inspects it;
 *  2. GET /v1/jobs/:id latency (p50/p99) and requests/s under 50 concurrent pollers, plain and with If-None-Match.
 * Needs Redis on REDIS_URL (default 127.0.0.1:6379; keys under a private prefix, deleted after) and ../shared/data.
 * Usage: tsx bench/service.ts [POLL_SECONDS=10] [POLLERS=50]; figures go to bench/out/service.json.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startApi } from '../src/api/app.js';
import { addUser } from '../src/api/auth.js';
import { loadConfig } from '../src/config.js';
import { ensureGenerated, pbmc3kPath, repoRoot } from './generate.js';

const SERVE_FLAG = '--serve';

/** Child mode: run the API from the environment and print its URL. */
async function serve(): Promise<void> {
  const api = await startApi(loadConfig());
  process.stdout.write(`${api.url}\n`);
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A multipart body streamed from disk, never held in memory; `sent` resolves when its last byte was handed over. */
function multipartFromFile(path: string, size: number) {
  const boundary = `bench-${randomUUID()}`;
  const head = Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${basename(path)}"\r\ncontent-type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  let markSent: () => void = () => undefined;
  const sent = new Promise<number>((resolve) => (markSent = () => resolve(performance.now())));
  async function* body() {
    yield head;
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) yield chunk as Buffer;
    yield tail;
    markSent();
  }
  return { boundary, length: head.length + size + tail.length, stream: Readable.toWeb(Readable.from(body())) as ReadableStream, sent };
}

async function pollLoad(url: string, headers: Record<string, string>, seconds: number, pollers: number) {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: pollers }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        const response = await fetch(url, { headers });
        await response.arrayBuffer();
        latencies.push(performance.now() - started);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    requests_per_s: latencies.length / seconds,
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    max_ms: latencies.at(-1),
    statuses: Object.fromEntries(statuses),
  };
}

async function bench(): Promise<void> {
  if (!existsSync(pbmc3kPath)) {
    console.log('bench/service: ../shared/data is absent; nothing to measure');
    return;
  }
  const pollSeconds = Number(process.argv[2] ?? 10);
  const pollers = Number(process.argv[3] ?? 50);
  const file = await ensureGenerated(100_000);
  const size = (await stat(file)).size;
  const dataDir = await mkdtemp(join(tmpdir(), 'scgmdvae-bench-'));
  const env = { ...process.env, DATA_DIR: dataDir, REDIS_PREFIX: `scgbench-${randomUUID().slice(0, 8)}`, PORT: '0', LOG_LEVEL: 'warn', UPLOAD_MAX_BYTES: '1G' };
  const config = loadConfig(env);
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), SERVE_FLAG], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let url = '';
    for await (const chunk of child.stdout!) {
      url += String(chunk);
      if (url.includes('\n')) break;
    }
    url = url.trim();
    const key = await addUser(config, 'bench');
    const auth = { authorization: `Bearer ${key}` };
    const idleRss = await rssMb(child.pid!);

    // 1. upload
    const body = multipartFromFile(file, size);
    let transferPeak = idleRss;
    let totalPeak = idleRss;
    let transferring = true;
    const sampler = setInterval(() => {
      rssMb(child.pid!).then((mb) => {
        totalPeak = Math.max(totalPeak, mb);
        if (transferring) transferPeak = Math.max(transferPeak, mb);
      }, () => undefined);
    }, 25);
    const started = performance.now();
    const responded = fetch(`${url}/v1/datasets`, {
      method: 'POST',
      headers: { ...auth, 'content-type': `multipart/form-data; boundary=${body.boundary}`, 'content-length': String(body.length) },
      body: body.stream,
      duplex: 'half',
    } as RequestInit);
    const sentAt = await body.sent;
    transferring = false;
    const response = await responded;
    const doneAt = performance.now();
    clearInterval(sampler);
    const dataset = (await response.json()) as { id: string; sha256: string; inspect: { n_obs: number; n_vars: number; nnz: number } };
    if (response.status !== 201) throw new Error(`upload answered ${response.status}: ${JSON.stringify(dataset)}`);
    const upload = {
      file: basename(file),
      mb: size / 1e6,
      cells: dataset.inspect.n_obs,
      genes: dataset.inspect.n_vars,
      nnz: dataset.inspect.nnz,
      transfer_seconds: (sentAt - started) / 1000,
      transfer_mb_per_s: size / 1e6 / ((sentAt - started) / 1000),
      total_seconds_incl_inspect: (doneAt - started) / 1000,
      end_to_end_mb_per_s: size / 1e6 / ((doneAt - started) / 1000),
      api_rss_mb: { idle: idleRss, peak_while_streaming: transferPeak, peak_incl_inspect: totalPeak },
    };
    console.log(JSON.stringify({ upload }, null, 2));

    // 2. polling
    const submitted = await fetch(`${url}/v1/jobs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ dataset_id: dataset.id, params: { epochs: 1 } }),
    });
    const job = (await submitted.json()) as { id: string };
    const jobUrl = `${url}/v1/jobs/${job.id}`;
    const etag = (await fetch(jobUrl, { headers: auth })).headers.get('etag')!;
    // Warm-up, so the first measured mode does not pay for the JIT and the connection pool.
    await pollLoad(jobUrl, auth, 3, pollers);
    const plain = await pollLoad(jobUrl, auth, pollSeconds, pollers);
    const conditional = await pollLoad(jobUrl, { ...auth, 'if-none-match': etag }, pollSeconds, pollers);
    const polling = { pollers, seconds: pollSeconds, plain, if_none_match: conditional, api_rss_mb_after: await rssMb(child.pid!) };
    console.log(JSON.stringify({ polling }, null, 2));

    const out = join(repoRoot, 'bench', 'out', 'service.json');
    await mkdir(join(repoRoot, 'bench', 'out'), { recursive: true });
    await writeFile(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, upload, polling }, null, 2));
    console.log(`wrote ${out}`);
  } finally {
    child.kill('SIGTERM');
    const redis = new Redis(config.redisUrl);
    const keys = await redis.keys(`${config.redisPrefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await (process.argv.includes(SERVE_FLAG) ? serve() : bench());
