/**
 * Training throughput, ours against the same-shaped PyTorch model (bench/torch_reference.py, Debian's python3-torch)
 * in one run: one epoch of 10,000 synthetic cells x 2,000 genes at the product's default shape (K 10, no conditions),
 * at each batch size; PyTorch with 1 and 2 threads, its best counted. Ours and PyTorch alternate per batch size,
 * so both see the same machine. Debian's torch calls the system BLAS, the reference one unless OpenBLAS is installed;
 * `--openblas DIR` runs PyTorch a second time on OpenBLAS unpacked into DIR without installing it
 * (`apt-get download libopenblas0-pthread && dpkg -x libopenblas0-pthread_*.deb root`, DIR =
 * root/usr/lib/x86_64-linux-gnu/openblas-pthread). Usage: tsx bench/throughput.ts [--batch-sizes 64,256,1024]
 * [--seed 0] [--openblas DIR] [--out bench/out/throughput.json].
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { pickBackend } from '../src/model/index.js';
import { repoRoot } from './generate.js';
import { speedOnCurrentBackend } from './model-speed.js';

const { values: args } = parseArgs({
  options: {
    'batch-sizes': { type: 'string', default: '64,256,1024' },
    seed: { type: 'string', default: '0' },
    openblas: { type: 'string' },
    out: { type: 'string', default: join(repoRoot, 'bench', 'out', 'throughput.json') },
  },
});
const seed = Number(args.seed);
const backend = await pickBackend({ log: (message) => console.error(message) });

const blasBuilds: { blas: string; env: NodeJS.ProcessEnv }[] = [
  { blas: 'system', env: process.env },
  ...(args.openblas ? [{ blas: 'openblas', env: { ...process.env, LD_LIBRARY_PATH: args.openblas } }] : []),
];

function torch(batchSize: number, threads: number, env: NodeJS.ProcessEnv): { seconds_per_epoch: number; cells_per_second: number } {
  const script = join(repoRoot, 'bench', 'torch_reference.py');
  // Debian's interpreter, which has python3-torch (a pyenv python3 may come first on PATH).
  const line = execFileSync('/usr/bin/python3', [script, '--batch-size', String(batchSize), '--threads', String(threads), '--seed', String(seed)], {
    encoding: 'utf8',
    env: { ...env, OPENBLAS_NUM_THREADS: String(threads) },
  });
  return JSON.parse(line.trim().split('\n').at(-1)!);
}

const rows = [];
for (const batchSize of args['batch-sizes']!.split(',').map(Number)) {
  const ours = await speedOnCurrentBackend(seed, batchSize);
  const pytorch = blasBuilds.flatMap(({ blas, env }) => [1, 2].map((threads) => ({ blas, threads, ...torch(batchSize, threads, env) })));
  const best = pytorch.reduce((a, b) => (b.cells_per_second > a.cells_per_second ? b : a));
  const row = {
    batch_size: batchSize,
    ours: { backend: ours.backend, seconds_per_epoch: ours.secondsPerEpoch, cells_per_second: ours.cellsPerSecond },
    pytorch,
    ratio_to_best_pytorch: Number((ours.cellsPerSecond / best.cells_per_second).toFixed(3)),
    load: loadavg().map((v) => Number(v.toFixed(2))),
  };
  rows.push(row);
  console.error(JSON.stringify(row));
}
mkdirSync(dirname(args.out!), { recursive: true });
writeFileSync(args.out!, JSON.stringify({ date: new Date().toISOString(), backend: backend.name, cells: 10_000, genes: 2_000, rows }, null, 2));
