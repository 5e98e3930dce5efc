/**
 * The gzip level of result.h5ad: seconds and bytes to write the generated 100k-cell set's CSR arrays (indices and
 * log1p values, as X is written) with the writer's own `writeArray`, at gzip levels 1 (the writer's), 4 (h5py's
 * default) and 0 (stored, no compression). Figures go to bench/out/h5-gzip.json. Usage: tsx bench/h5-gzip.ts [N_CELLS=100000]
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeArray } from '../src/io/h5ad-write.js';
import { readDataset } from '../src/io/index.js';
import { loadH5wasm } from '../src/io/hdf5.js';
import { isCsr } from '../src/io/sparse.js';
import { ensureGenerated, repoRoot } from './generate.js';

const { data } = await readDataset(await ensureGenerated(Number(process.argv[2] ?? 100_000)));
if (!isCsr(data.X)) throw new Error('the generated file holds a CSR matrix');
const arrays = { indices: data.X.indices, data: Float32Array.from(data.X.data, Math.log1p) };
const h5 = await loadH5wasm();
const outDir = join(repoRoot, 'bench', 'out');
mkdirSync(outDir, { recursive: true });
const rows = [];
for (const level of [1, 4, 0]) {
  const path = join(outDir, `h5-gzip-${level}.h5`);
  rmSync(path, { force: true });
  const started = performance.now();
  const file = new h5.File(path, 'w');
  for (const [name, values] of Object.entries(arrays)) writeArray(file, name, values, [values.length], level);
  file.close();
  const row = { gzip_level: level, seconds: Number(((performance.now() - started) / 1000).toFixed(2)), megabytes: Math.round(statSync(path).size / 1e6), stored_values: data.X.data.length };
  rmSync(path);
  rows.push(row);
  console.error(JSON.stringify(row));
}
writeFileSync(join(outDir, 'h5-gzip.json'), JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
