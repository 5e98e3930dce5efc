/**
 * Read throughput of the dataset reader: MB/s (of the file on disk) and cells/s, on pbmc3k
 * (10x MTX, gzipped) and a generated 100k-cell CSR h5ad. Figures go to bench/out/io.json.
 * Usage: tsx bench/io.ts [N_CELLS=100000] [REPEATS=3]
 */
import { existsSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readDataset } from '../src/io/index.js';
import { ensureGenerated, pbmc3kPath, repoRoot } from './generate.js';

async function sizeOnDisk(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.size;
  const { readdir } = await import('node:fs/promises');
  let total = 0;
  for (const name of await readdir(path)) total += (await stat(join(path, name))).size;
  return total;
}

async function measure(name: string, path: string, repeats: number) {
  const bytes = await sizeOnDisk(path);
  const seconds: number[] = [];
  let cells = 0;
  let nnz = 0;
  let peakRss = 0;
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    const { data } = await readDataset(path);
    seconds.push((performance.now() - started) / 1000);
    cells = data.X.nRows;
    nnz = data.X.data.length;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  const best = Math.min(...seconds);
  return { name, path, bytes, cells, nnz, seconds, best_seconds: best, mb_per_s: bytes / 1e6 / best, cells_per_s: cells / best, peak_rss_mb: peakRss / 2 ** 20 };
}

if (!existsSync(pbmc3kPath)) {
  console.log('bench/io: ../shared/data is absent; nothing to measure');
} else {
  const nCells = Number(process.argv[2] ?? 100_000);
  const repeats = Number(process.argv[3] ?? 3);
  const generated = await ensureGenerated(nCells);
  const results = [await measure('pbmc3k (10x MTX, gzip)', pbmc3kPath, repeats), await measure(`pbmc3k sampled to ${nCells} cells (h5ad CSR, gzip)`, generated, repeats)];
  const out = join(repoRoot, 'bench', 'out', 'io.json');
  await mkdir(join(repoRoot, 'bench', 'out'), { recursive: true });
  await writeFile(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2));
  console.log(JSON.stringify(results, null, 2));
}
