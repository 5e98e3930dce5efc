/**
 * The deployment files, checked for structure (no Docker engine here: the images were not built or run).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';

const root = new URL('../../', import.meta.url);

interface Service {
  image?: string;
  build?: { context: string; target: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  profiles?: string[];
  stop_grace_period?: string;
  deploy?: { replicas?: number; resources?: { reservations: { devices: { capabilities: string[]; count?: number; driver?: string }[] } } };
  depends_on?: Record<string, { condition: string }> | string[];
}

test('docker-compose.yml: redis with AOF and noeviction, MinIO with its bucket, two API replicas behind a proxy, GPU and CPU workers, no shared volume', async () => {
  const compose = parse(await readFile(new URL('docker-compose.yml', root), 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
    volumes: Record<string, unknown>;
  };
  const { redis, minio, 'minio-init': init, api, proxy, worker, 'worker-cpu': cpuWorker } = compose.services;

  assert.match(redis.image ?? '', /^redis:7/);
  const redisArgs = redis.command!.join(' ');
  assert.match(redisArgs, /--appendonly yes/);
  assert.match(redisArgs, /--maxmemory-policy noeviction/);
  assert.ok(redis.volumes?.some((v) => v.startsWith('redis-data:')));

  assert.match(minio.image ?? '', /^minio\/minio/);
  assert.ok(minio.volumes?.some((v) => v.startsWith('minio-data:')));
  assert.match(init.image ?? '', /^minio\/mc/);
  assert.match(init.command!.join(' '), /mc mb --ignore-existing store\/scgmdvae\b/, 'the bucket STORAGE_URL names is created at start');

  assert.equal(api.build?.target, 'cpu');
  assert.deepEqual(api.command, ['node', 'dist/src/cli/main.js', 'serve']);
  assert.equal(api.deploy?.replicas, 2);
  assert.equal(api.ports, undefined, 'replicas publish no port of their own');
  assert.ok(proxy.ports?.includes('8080:8080'));
  assert.deepEqual(proxy.command?.slice(-2), ['--to', 'api:8080']);

  assert.equal(worker.build?.target, 'gpu');
  assert.deepEqual(worker.command, ['node', 'dist/src/cli/main.js', 'worker']);
  const devices = worker.deploy!.resources!.reservations.devices;
  assert.ok(devices.some((d) => d.capabilities.includes('gpu')));
  assert.equal(worker.environment?.SCGMDVAE_BACKEND, 'tensorflow');
  assert.equal(worker.environment?.QUEUES, 'gpu');

  assert.deepEqual(cpuWorker.profiles, ['cpu']);
  assert.equal(cpuWorker.build?.target, 'cpu');
  assert.equal(cpuWorker.environment?.SCGMDVAE_BACKEND, 'wasm');
  assert.equal(cpuWorker.environment?.QUEUES, 'cpu');
  assert.deepEqual(cpuWorker.command, worker.command);

  const bucket = init.command!.join(' ').match(/store\/([\w.-]+)/)![1];
  for (const service of [api, worker, cpuWorker]) {
    assert.equal(service.volumes, undefined, 'no volume shared by the API and the workers');
    assert.equal(service.environment?.STORAGE_URL, `s3://${bucket}/data`);
    assert.equal(service.environment?.S3_ENDPOINT, 'http://minio:9000');
    assert.equal(service.environment?.AWS_ACCESS_KEY_ID, init.environment?.AWS_ACCESS_KEY_ID);
    assert.equal(service.environment?.DATA_DIR, undefined);
    assert.equal(service.environment?.REDIS_URL, 'redis://redis:6379');
    const depends = service.depends_on as Record<string, { condition: string }>;
    assert.equal(depends.redis!.condition, 'service_healthy');
    assert.equal(depends['minio-init']!.condition, 'service_completed_successfully');
  }
  const config = loadConfig(api.environment);
  assert.equal(config.storage.kind, 's3', 'the compose environment passes the configuration checks');
  assert.ok('minio-data' in compose.volumes && 'redis-data' in compose.volumes && !('data' in compose.volumes));
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
  assert.match(stage('cpu'), /apt-get install[^\n]*\blibopenblas0-pthread\b/, 'the cpu image has OpenBLAS for the matrix products');
  assert.match(stage('build'), /npm install --no-save[^\n]*\\\n\s*"@koromix\/koffi-linux-/, "the build puts back koffi's native binary, which --omit=optional leaves out");
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
