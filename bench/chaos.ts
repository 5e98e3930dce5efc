/**
 * Chaos benchmark (not part of npm test): 2 worker processes running the real pipeline, JOBS jobs on CellBench
 * (2 platforms), and KILLS kill -9s of random workers (each replaced at once) and job child processes while they run.
 * Checks every job ends COMPLETE, none published results twice, and every job's cells.csv, latent.csv and
 * markers.csv equal those of a clean run of the same parameters before the chaos.
 * Needs Redis on REDIS_URL (keys under a private prefix, deleted after) and ../shared/data.
 * Usage: tsx bench/chaos.ts [JOBS=20] [KILLS=20] [EPOCHS=4]; figures go to bench/out/chaos.json.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startApi } from '../src/api/app.js';
import { addUser } from '../src/api/auth.js';
import { loadConfig } from '../src/config.js';
import { Rng } from '../src/random.js';
import { repoRoot, sharedData } from './generate.js';

const jobs = Number(process.argv[2] ?? 20);
const kills = Number(process.argv[3] ?? 20);
const epochs = Number(process.argv[4] ?? 4);
const DATASET = join(sharedData, 'cellbench', 'cellbench_2platforms.h5ad');
const COMPARED = ['cells.csv', 'latent.csv', 'markers.csv'];
const PARAMS = { condition_keys: ['platform'], n_clusters: 3, epochs, seed: 0 };
const TERMINAL = ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((l) => Number(l.trim())).filter((p) => p > 0);
  } catch {
    return [];
  }
}

async function bench(): Promise<void> {
  if (!existsSync(DATASET)) {
    console.log('bench/chaos: ../shared/data is absent; nothing to measure');
    return;
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'scgmdvae-chaos-'));
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    DATA_DIR: dataDir,
    REDIS_PREFIX: `scgchaos-${randomUUID().slice(0, 8)}`,
    PORT: '0',
    LOG_LEVEL: 'info',
    SCGMDVAE_BACKEND: process.env.SCGMDVAE_BACKEND ?? 'wasm',
    JOB_ATTEMPTS: '20',
    JOB_MAX_STALLS: '20',
    JOB_BACKOFF_MS: '500',
    WORKER_LOCK_MS: '4000',
    WORKER_STALLED_CHECK_MS: '1000',
  };
  const config = loadConfig({ ...env, LOG_LEVEL: 'warn' });
  const api = await startApi(config);
  const logs: string[] = [];
  const workers = new Set<ChildProcess>();
  const spawnWorker = () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'cli', 'main.ts'), 'worker'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const index = logs.push('') - 1;
    child.stdout!.on('data', (chunk) => (logs[index] += String(chunk)));
    child.once('exit', () => workers.delete(child));
    workers.add(child);
  };
  try {
    const key = await addUser(config, 'chaos');
    const auth = { authorization: `Bearer ${key}` };
    const form = new FormData();
    form.append('file', new Blob([readFileSync(DATASET)]), 'cellbench_2platforms.h5ad');
    const dataset = (await (await fetch(`${api.url}/v1/datasets`, { method: 'POST', headers: auth, body: form })).json()) as { id: string };
    const submitJob = async () => {
      const response = await fetch(`${api.url}/v1/jobs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ dataset_id: dataset.id, params: PARAMS }) });
      return ((await response.json()) as { id: string }).id;
    };
    const view = async (id: string) => (await (await fetch(`${api.url}/v1/jobs/${id}`, { headers: auth })).json()) as { state: string; attempts: { made: number } };
    const digests = async (id: string) =>
      Object.fromEntries(
        await Promise.all(
          COMPARED.map(async (name) => {
            const file = Buffer.from(await (await fetch(`${api.url}/v1/jobs/${id}/results/${name}`, { headers: auth })).arrayBuffer());
            return [name, createHash('sha256').update(file).digest('hex')] as const;
          }),
        ),
      );
    const waitAll = async (ids: string[]) => {
      for (;;) {
        const views = await Promise.all(ids.map(view));
        if (views.every((v) => TERMINAL.includes(v.state))) return views;
        await sleep(1000);
      }
    };

    spawnWorker();
    spawnWorker();
    const cleanStarted = performance.now();
    const cleanId = await submitJob();
    const [cleanView] = await waitAll([cleanId]);
    const cleanSeconds = (performance.now() - cleanStarted) / 1000;
    if (cleanView!.state !== 'COMPLETE') throw new Error(`the clean run ended ${JSON.stringify(cleanView)}`);
    const reference = await digests(cleanId);
    console.log(`clean run: ${cleanSeconds.toFixed(1)} s`);

    const rng = new Rng(15);
    const random = () => rng.uniform();
    const started = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < jobs; i++) ids.push(await submitJob());
    const killed = { workers: 0, children: 0 };
    // Kills spread over the expected run time: two workers, each job about a clean run's time.
    const gapMs = Math.max(1000, (cleanSeconds * 1000 * jobs) / 2 / (kills + 2));
    while (killed.workers + killed.children < kills) {
      await sleep(gapMs * (0.5 + random()));
      const live = [...workers];
      const busy = live.flatMap((worker) => childrenOf(worker.pid!).map((pid) => ({ worker, pid })));
      const views = await Promise.all(ids.map(view));
      if (views.every((v) => TERMINAL.includes(v.state))) break;
      const targetChild = busy.length > 0 && random() < 0.5;
      if (targetChild) {
        const { pid } = busy[Math.floor(random() * busy.length)]!;
        try {
          process.kill(pid, 'SIGKILL');
          killed.children += 1;
        } catch {
          // it ended on its own meanwhile
        }
      } else {
        const worker = live[Math.floor(random() * live.length)]!;
        worker.kill('SIGKILL');
        killed.workers += 1;
        spawnWorker();
      }
      console.log(`kill ${killed.workers + killed.children}: ${targetChild ? 'a job child' : 'a worker'}`);
    }
    const views = await waitAll(ids);
    const seconds = (performance.now() - started) / 1000;
    const complete = views.filter((v) => v.state === 'COMPLETE').length;
    const published = new Map<string, number>();
    for (const line of logs.join('').split('\n')) {
      if (!line.includes('"results published"')) continue;
      const { job } = JSON.parse(line) as { job: string };
      published.set(job, (published.get(job) ?? 0) + 1);
    }
    const identical = (await Promise.all(ids.map(async (id) => JSON.stringify(await digests(id).catch(() => ({}))) === JSON.stringify(reference)))).filter(Boolean).length;
    const result = {
      date: new Date().toISOString(),
      dataset: 'cellbench_2platforms.h5ad',
      params: PARAMS,
      backend: env.SCGMDVAE_BACKEND,
      clean_run_seconds: cleanSeconds,
      jobs,
      kills: killed,
      seconds,
      complete,
      states: Object.fromEntries([...new Set(views.map((v) => v.state))].map((s) => [s, views.filter((v) => v.state === s).length])),
      attempts_made: views.map((v) => v.attempts.made),
      published_once: ids.filter((id) => published.get(id) === 1).length,
      published_twice_or_more: ids.filter((id) => (published.get(id) ?? 0) > 1).length,
      identical_to_clean_run: identical,
    };
    console.log(JSON.stringify(result, null, 2));
    const out = join(repoRoot, 'bench', 'out', 'chaos.json');
    await mkdir(join(repoRoot, 'bench', 'out'), { recursive: true });
    await writeFile(out, JSON.stringify(result, null, 2));
    console.log(`wrote ${out}`);
  } finally {
    for (const worker of workers) worker.kill('SIGTERM');
    await api.stop();
    const redis = new Redis(config.redisUrl);
    const keys = await redis.keys(`${config.redisPrefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await bench();
