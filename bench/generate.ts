/**
 * Generates a large CSR h5ad by sampling real pbmc3k cells with replacement (seeded), for the
 * I/O, preprocessing and pipeline benchmarks. Usage: tsx bench/generate.ts [N_CELLS] [OUT]
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeH5ad } from '../src/io/h5ad-write.js';
import { readDataset } from '../src/io/index.js';
import type { AnnData } from '../src/io/types.js';
import { Rng } from '../src/random.js';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const sharedData = join(repoRoot, '..', 'shared', 'data');
export const pbmc3kPath = join(sharedData, 'pbmc3k', 'filtered_gene_bc_matrices', 'hg19');
export const generatedPath = (nCells: number) => join(repoRoot, 'bench', 'out', `pbmc3k-sampled-${nCells}.h5ad`);

/** n cells drawn from `source`'s rows with replacement; barcodes get the draw's number. */
export function sampleCells(source: AnnData, nCells: number, seed: number): AnnData {
  const rng = new Rng(seed);
  const { X } = source;
  const rows = Int32Array.from({ length: nCells }, () => Math.floor(rng.uniform() * X.nRows));
  const indptr = new Int32Array(nCells + 1);
  rows.forEach((r, i) => (indptr[i + 1] = indptr[i]! + X.indptr[r + 1]! - X.indptr[r]!));
  const indices = new Int32Array(indptr[nCells]!);
  const data = new Float32Array(indptr[nCells]!);
  rows.forEach((r, i) => {
    indices.set(X.indices.subarray(X.indptr[r]!, X.indptr[r + 1]!), indptr[i]!);
    data.set(X.data.subarray(X.indptr[r]!, X.indptr[r + 1]!), indptr[i]!);
  });
  return {
    X: { nRows: nCells, nCols: X.nCols, indptr, indices, data },
    obs: { index: Array.from(rows, (r, i) => `${source.obs.index[r]}-s${i}`), columns: new Map() },
    var: source.var,
  };
}

/** Writes the sampled file unless it is there already; returns its path. */
export async function ensureGenerated(nCells: number, seed = 0): Promise<string> {
  const out = generatedPath(nCells);
  const { existsSync } = await import('node:fs');
  if (existsSync(out)) return out;
  await mkdir(dirname(out), { recursive: true });
  const { data } = await readDataset(pbmc3kPath);
  await writeH5ad(out, sampleCells(data, nCells, seed));
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const nCells = Number(process.argv[2] ?? 100_000);
  const started = performance.now();
  const path = await ensureGenerated(nCells);
  console.log(JSON.stringify({ path, nCells, seconds: (performance.now() - started) / 1000 }));
}
