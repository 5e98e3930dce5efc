/**
 * The deployment files, checked for structure (no Docker engine here: the images were not built or run).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { parse } from 'yaml';

const root = new URL('../../', import.meta.url);

interface Service {
  image?: string;
  build?: { context: string; target: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  profiles?: string[];
  stop_grace_period?: string;
  deploy?: { resources: { reservations: { devices: { capabilities: string[]; count?: number; driver?: string }[] } } };
  depends_on?: Record<string, { condition: string }>;
}

test('docker-compose.yml: redis with AOF and noeviction, api, GPU worker, CPU worker profile, shared data volume', async () => {
  const compose = parse(await readFile(new URL('docker-compose.yml', root), 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
    volumes: Record<string, unknown>;
  };
  const { redis, api, worker, 'worker-cpu': cpuWorker } = compose.services;

  assert.match(redis.image ?? '', /^redis:7/);
  const redisArgs = redis.command!.join(' ');
  assert.match(redisArgs, /--appendonly yes/);
  assert.match(redisArgs, /--maxmemory-policy noeviction/);
  assert.ok(redis.volumes?.some((v) => v.startsWith('redis-data:')));

  assert.equal(api.build?.target, 'cpu');
  assert.deepEqual(api.command, ['node', 'dist/src/cli/main.js', 'serve']);
  assert.ok(api.ports?.includes('8080:8080'));

  assert.equal(worker.build?.target, 'gpu');
  assert.deepEqual(worker.command, ['node', 'dist/src/cli/main.js', 'worker']);
  const devices = worker.deploy!.resources.reservations.devices;
  assert.ok(devices.some((d) => d.capabilities.includes('gpu')));
  assert.equal(worker.environment?.SCGMDVAE_BACKEND, 'tensorflow');

  assert.deepEqual(cpuWorker.profiles, ['cpu']);
  assert.equal(cpuWorker.build?.target, 'cpu');
  assert.equal(cpuWorker.environment?.SCGMDVAE_BACKEND, 'wasm');
  assert.deepEqual(cpuWorker.command, worker.command);

  for (const service of [api, worker, cpuWorker]) {
    assert.ok(service.volumes?.includes('data:/data'), 'one data volume shared by API and workers');
    assert.equal(service.environment?.DATA_DIR, '/data');
    assert.equal(service.environment?.REDIS_URL, 'redis://redis:6379');
    assert.equal(service.depends_on?.redis.condition, 'service_healthy');
  }
  assert.ok('data' in compose.volumes && 'redis-data' in compose.volumes);
});

test('Dockerfile: cpu and gpu targets, CUDA 11.2 + cuDNN 8 with tfjs-node-gpu, non-root, healthcheck', async () => {
  const dockerfile = await readFile(new URL('Dockerfile', root), 'utf8');
  const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)].map((m) => ({ image: m[1], name: m[2] }));
  const names = stages.map((s) => s.name);
  assert.ok(names.includes('cpu') && names.includes('gpu'), `stages: ${names}`);
  assert.match(dockerfile, /ARG NODE_IMAGE=node:20-[\w-]*slim/);
  assert.match(dockerfile, /ARG CUDA_IMAGE=nvidia\/cuda:11\.2[\w.]*-cudnn8-runtime/);

  const stage = (name: string) => {
    const start = dockerfile.search(new RegExp(`^FROM\\s+\\S+\\s+AS\\s+${name}\\s*$`, 'm'));
    const rest = dockerfile.slice(start + 1);
    const next = rest.search(/^FROM\s/m);
    return next === -1 ? rest : rest.slice(0, next);
  };
  for (const name of ['cpu', 'gpu']) {
    const body = stage(name);
    assert.match(body, /^USER\s+(?!root\b|0\b)\S+/m, `${name} runs as a non-root user`);
    assert.match(body, /^HEALTHCHECK\s/m, `${name} has a healthcheck`);
    assert.match(body, /^CMD\s+\["node", "dist\/src\/cli\/main\.js", "(serve|worker)"\]/m);
  }
  assert.match(stage('cpu'), /SCGMDVAE_BACKEND=wasm/);
  assert.match(stage('gpu'), /SCGMDVAE_BACKEND=tensorflow/);
  assert.match(stage('gpu-deps'), /npm ci --omit=dev\b(?!.*--omit=optional)/, 'the GPU image installs the optional tfjs-node-gpu');

  const pkg = JSON.parse(await readFile(new URL('package.json', root), 'utf8')) as { optionalDependencies?: Record<string, string>; bin: Record<string, string> };
  assert.ok(pkg.optionalDependencies?.['@tensorflow/tfjs-node-gpu'], 'tfjs-node-gpu stays an optional dependency');
  // Every entry point the images and the package name is what `npm run build` makes of a source file (dist/src/x.js from src/x.ts).
  for (const entry of [pkg.bin.scgmdvae!, ...[...dockerfile.matchAll(/"(dist\/[^"]+\.js)"/g)].map((m) => m[1]!)]) {
    assert.ok(existsSync(new URL(entry.replace(/^dist\//, '').replace(/\.js$/, '.ts'), root)), `${entry} has no source`);
  }
  for (const source of ['src', 'schemas']) assert.match(dockerfile, new RegExp(`^COPY ${source} \\./${source}$`, 'm'), `the build copies ${source}`);
  assert.match(dockerfile, /^COPY tsconfig\.json tsconfig\.build\.json vite\.config\.ts \.\/$/m, 'the build has what `npm run build` reads, the web page\'s Vite config included');
});

test('.dockerignore keeps local state out of the build context', async () => {
  const ignored = (await readFile(new URL('.dockerignore', root), 'utf8')).split('\n').map((line) => line.trim());
  for (const entry of ['node_modules', 'dist', 'data', '.git']) assert.ok(ignored.includes(entry), entry);
});
