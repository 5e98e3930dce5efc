/**
 * Many machines, no shared disk: two API processes and two worker processes with scratch folders of their own,
 * one Redis and an S3-protocol server (s3rver on loopback), no DATA_DIR anywhere. Ten jobs of two users all end
 * COMPLETE and download from either API (one streams, one redirects to presigned URLs); a worker killed with -9 mid-job leaves it to the other, which finishes
 * it; another user's records answer 404 on both APIs. The pipeline is the fake one (queue and storage mechanics).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { ServiceConfig } from '../../src/config.js';
import { FIXTURES, TENX_H5, bearer, cleanup, newKey, pollJob, startS3, submit, testConfig, upload, type JobJson, type TestS3 } from './helpers.js';

const WORKER_ENV = { WORKER_LOCK_MS: '1500', WORKER_STALLED_CHECK_MS: '500', JOB_ATTEMPTS: '2', FAKE_EPOCH_MS: '100' };

let s3: TestS3;
let config: ServiceConfig;
let scratchRoot: string;
const children: ChildProcess[] = [];

/** A process from test/fixtures/service that prints `ready <what>` once it serves; resolves with <what>. */
async function spawnReady(fixture: string, env: Record<string, string>): Promise<{ child: ChildProcess; ready: string }> {
  const environment: NodeJS.ProcessEnv = { ...process.env, ...s3.env, ...WORKER_ENV, REDIS_PREFIX: config.redisPrefix, LOG_LEVEL: 'warn', PORT: '0', ...env };
  delete environment.DATA_DIR;
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(fixture, FIXTURES))], { env: environment, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let output = '';
  for await (const chunk of child.stdout!) {
    output += String(chunk);
    const ready = /ready (\S+)/.exec(output);
    if (ready) return { child, ready: ready[1]! };
  }
  throw new Error(`${fixture} exited before it was ready: ${output}`);
}

before(async () => {
  s3 = await startS3();
  config = await testConfig(s3.env);
  scratchRoot = await mkdtemp(join(tmpdir(), 'scgmdvae-scale-'));
});

after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await cleanup(config);
  await s3.stop();
  await rm(scratchRoot, { recursive: true, force: true });
});

test('two APIs, two workers without a shared disk: 10 jobs of 2 users COMPLETE; kill -9 of a worker mid-job; 404 across users', async () => {
  // B answers downloads with a redirect to a presigned URL of the store; fetch follows it.
  const [apiA, apiB] = await Promise.all([spawnReady('api-main.ts', {}), spawnReady('api-main.ts', { S3_PRESIGN: 'true' })]);
  const apis = [apiA.ready, apiB.ready];
  const scratch = [join(scratchRoot, 'worker-1'), join(scratchRoot, 'worker-2')];
  const workers = await Promise.all(scratch.map((dir) => spawnReady('worker-main.ts', { SCRATCH_DIR: dir })));
  const [alice, bob] = await Promise.all([newKey(config, 'alice'), newKey(config, 'bob')]);
  const users = [
    { key: alice, dataset: '' },
    { key: bob, dataset: '' },
  ];
  for (const [i, user] of users.entries()) {
    const response = await upload(apis[i]!, user.key, TENX_H5);
    assert.equal(response.status, 201, await response.clone().text());
    user.dataset = ((await response.json()) as { id: string }).id;
  }

  const submitted = async (i: number, epochs: number): Promise<{ id: string; user: number }> => {
    const user = i % 2;
    const response = await submit(apis[i % 2]!, users[user]!.key, { dataset_id: users[user]!.dataset, params: { epochs } });
    assert.equal(response.status, 202, await response.clone().text());
    return { id: ((await response.json()) as JobJson).id, user };
  };
  // The long job first: it starts on one worker, which is then killed mid-training.
  const long = await submitted(0, 40);
  await pollJob(apis[1]!, alice, long.id, (job) => (job.progress?.epoch ?? 0) >= 2);
  const holder = scratch.findIndex((dir) => existsSync(join(dir, long.id)));
  assert.ok(holder >= 0, 'the running job has a scratch folder on the worker that runs it');
  const jobs = [long];
  for (let i = 1; i < 10; i++) jobs.push(await submitted(i, 3));
  workers[holder]!.child.kill('SIGKILL');
  await once(workers[holder]!.child, 'exit');

  for (const [i, job] of jobs.entries()) {
    const done = await pollJob(apis[i % 2]!, users[job.user]!.key, job.id, (j) => ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'].includes(j.state), { rounds: 1200 });
    assert.equal(done.state, 'COMPLETE', JSON.stringify(done));
    if (job === long) assert.equal(done.attempts.made, 2, 'the killed attempt ran again on the other worker');
    for (const api of apis) {
      const csv = await fetch(`${api}/v1/jobs/${job.id}/results/cells.csv`, { headers: bearer(users[job.user]!.key) });
      assert.equal(csv.status, 200);
      assert.equal(csv.redirected, api === apiB.ready);
      assert.equal(csv.headers.get('content-disposition'), `attachment; filename="${job.id}-cells.csv"`);
      assert.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8');
      assert.equal(await csv.text(), 'cell,cluster\nc1,0\nc2,1\n');
      const other = users[1 - job.user]!.key;
      assert.equal((await fetch(`${api}/v1/jobs/${job.id}`, { headers: bearer(other) })).status, 404);
      assert.equal((await fetch(`${api}/v1/jobs/${job.id}/results/cells.csv`, { headers: bearer(other) })).status, 404);
    }
  }
  for (const api of apis) {
    assert.equal((await fetch(`${api}/v1/datasets/${users[0]!.dataset}`, { headers: bearer(bob) })).status, 404);
    const listed = (await (await fetch(`${api}/v1/jobs?limit=200`, { headers: bearer(alice) })).json()) as { jobs: JobJson[] };
    assert.deepEqual(new Set(listed.jobs.map((job) => job.id)), new Set(jobs.filter((job) => job.user === 0).map((job) => job.id)));
  }
  const survivor = 1 - holder;
  assert.deepEqual(await readdir(scratch[survivor]!), [], "the surviving worker's scratch folder holds no job's files");
  for (const { child } of [...workers.filter((_, i) => i === survivor), apiA, apiB]) {
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  }
});
