/**
 * Generates a large CSR h5ad by sampling real pbmc3k cells with replacement (seeded) and thinning each
 * copy's counts binomially, so that no two cells are identical (exact copies form cliques in a kNN graph
 * that no real data set has), for the I/O, preprocessing and pipeline benchmarks. A cell's barcode is its
 * source's with `-s<draw>` appended. Usage: tsx bench/generate.ts [N_CELLS]
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

/** Share of each count a sampled copy keeps (binomial thinning). */
const KEEP_SHARE = 0.85;

/** The source barcode of a sampled cell's barcode. */
export const sourceBarcode = (barcode: string) => barcode.replace(/-s\d+$/, '');

/** n cells drawn from `source`'s rows with replacement, each count thinned to Binomial(count, `keep`); barcodes get the draw's number. */
export function sampleCells(source: AnnData, nCells: number, seed: number, keep = KEEP_SHARE): AnnData {
  const rng = new Rng(seed);
  const { X } = source;
  const rows = Int32Array.from({ length: nCells }, () => Math.floor(rng.uniform() * X.nRows));
  const stored = rows.reduce((s, r) => s + X.indptr[r + 1]! - X.indptr[r]!, 0);
  const indptr = new Int32Array(nCells + 1);
  const indices = new Int32Array(stored);
  const data = new Float32Array(stored);
  let p = 0;
  rows.forEach((r, i) => {
    for (let q = X.indptr[r]!; q < X.indptr[r + 1]!; q++) {
      let kept = 0;
      for (let c = 0; c < X.data[q]!; c++) if (rng.uniform() < keep) kept++;
      if (kept === 0) continue;
      indices[p] = X.indices[q]!;
      data[p++] = kept;
    }
    indptr[i + 1] = p;
  });
  return {
    X: { nRows: nCells, nCols: X.nCols, indptr, indices: indices.slice(0, p), data: data.slice(0, p) },
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
