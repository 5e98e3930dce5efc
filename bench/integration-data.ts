/**
 * Synthetic counts for the integration benchmark: K cell types with sparse marker programs (one type
 * rare), B batches whose every gene is scaled by its own log-normal factor, batch-specific library
 * sizes, and negative-binomial noise. The types are easy to tell apart within a batch; a model that
 * does not remove the batch effects finds one cluster per type and batch.
 *
 *   npx tsx bench/integration-data.ts [--sigma 0.45] [--seed 0] [--out bench/out/file.h5ad]
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeH5ad } from '../src/io/h5ad-write.js';
import type { AnnData, Column } from '../src/io/types.js';
import { Rng } from '../src/random.js';

export interface BatchEffectOptions {
  /** Standard deviation of log(batch factor), per gene and batch. */
  readonly sigma: number;
  readonly seed: number;
  readonly genes?: number;
  readonly batches?: number;
  /** Cells of each type (summed over batches); the last is the rare type. */
  readonly typeSizes?: readonly number[];
  /** Share of the genes that mark each type (up- or down-regulated). */
  readonly markerShare?: number;
  /** Mean log2 fold change of a marker gene. */
  readonly markerLog2Fold?: number;
  /** Median UMIs per cell of each batch. */
  readonly libraryMedians?: readonly number[];
  /** Negative-binomial dispersion θ (variance μ + μ²/θ). */
  readonly theta?: number;
}

const DEFAULTS = {
  genes: 2000,
  batches: 3,
  typeSizes: [450, 390, 330, 270, 210, 60],
  markerShare: 0.03,
  markerLog2Fold: 2,
  libraryMedians: [1500, 3000, 6000],
  theta: 8,
};

/** Gamma(shape, 1) by Marsaglia and Tsang (shape < 1 boosted through shape + 1). */
function gamma(rng: Rng, shape: number): number {
  if (shape < 1) return gamma(rng, shape + 1) * Math.pow(1 - rng.uniform(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.uniform();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Poisson(λ): multiplication of uniforms for small λ, Hörmann's transformed rejection (PTRS) above. */
function poisson(rng: Rng, lambda: number): number {
  if (lambda <= 0) return 0;
  if (lambda < 10) {
    const limit = Math.exp(-lambda);
    let k = 0;
    for (let p = rng.uniform(); p > limit; p *= rng.uniform()) k++;
    return k;
  }
  const slam = Math.sqrt(lambda);
  const loglam = Math.log(lambda);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = rng.uniform() - 0.5;
    const v = rng.uniform();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -lambda + k * loglam - logFactorial(k)) return k;
  }
}

function logFactorial(k: number): number {
  let s = 0;
  for (let i = 2; i <= k; i++) s += Math.log(i);
  return s;
}

/** Cells x genes counts with obs `cell_type` and `batch`, cells of each type spread over the batches unevenly. */
export function batchEffectCounts(options: BatchEffectOptions): AnnData {
  const o = { ...DEFAULTS, ...options };
  const rng = new Rng(o.seed * 7919 + 17);
  const nTypes = o.typeSizes.length;
  // Base expression as Splatter draws it: Gamma(0.6, 0.3) means.
  const base = Float64Array.from({ length: o.genes }, () => gamma(rng, 0.6) / 0.3 + 1e-3);
  const logFold = Array.from({ length: nTypes }, () => new Float64Array(o.genes));
  for (const fold of logFold) {
    for (let g = 0; g < o.genes; g++) {
      if (rng.uniform() >= o.markerShare) continue;
      const size = Math.LN2 * o.markerLog2Fold * (1 + 0.25 * rng.normal());
      fold[g] = rng.uniform() < 0.8 ? size : -size;
    }
  }
  const batchLogFactor = Array.from({ length: o.batches }, () => Float64Array.from({ length: o.genes }, () => o.sigma * rng.normal()));
  // Each type's share of each batch varies (Dirichlet-like weights 0.5 to 1.5), as real studies differ in composition.
  const cells: { type: number; batch: number }[] = [];
  o.typeSizes.forEach((size, type) => {
    const weights = Array.from({ length: o.batches }, () => 0.5 + rng.uniform());
    const total = weights.reduce((a, b) => a + b, 0);
    let given = 0;
    weights.forEach((w, batch) => {
      const n = batch === o.batches - 1 ? size - given : Math.round((size * w) / total);
      given += n;
      for (let i = 0; i < n; i++) cells.push({ type, batch });
    });
  });
  const rows = Array.from(rng.shuffle(Int32Array.from(cells, (_, i) => i)), (i) => cells[i]!);

  const profiles = new Map<string, Float64Array>();
  const profile = (type: number, batch: number): Float64Array => {
    const key = `${type},${batch}`;
    let p = profiles.get(key);
    if (!p) {
      p = Float64Array.from(base, (b, g) => b * Math.exp(logFold[type]![g]! + batchLogFactor[batch]![g]!));
      const sum = p.reduce((a, b) => a + b, 0);
      for (let g = 0; g < p.length; g++) p[g]! /= sum;
      profiles.set(key, p);
    }
    return p;
  };

  const indptr = new Int32Array(rows.length + 1);
  const indices: number[] = [];
  const data: number[] = [];
  rows.forEach(({ type, batch }, i) => {
    const library = o.libraryMedians[batch % o.libraryMedians.length]! * Math.exp(0.3 * rng.normal());
    const p = profile(type, batch);
    for (let g = 0; g < o.genes; g++) {
      const mean = library * p[g]!;
      const count = poisson(rng, (gamma(rng, o.theta) / o.theta) * mean);
      if (count > 0) {
        indices.push(g);
        data.push(count);
      }
    }
    indptr[i + 1] = indices.length;
  });
  const categorical = (names: string[], codes: number[]): Column => ({ kind: 'categorical', categories: names, codes: Int32Array.from(codes), ordered: false });
  const typeNames = Array.from({ length: nTypes }, (_, t) => (t === nTypes - 1 ? `type${t}_rare` : `type${t}`));
  return {
    X: { nRows: rows.length, nCols: o.genes, indptr, indices: Int32Array.from(indices), data: Float32Array.from(data) },
    obs: {
      index: rows.map((_, i) => `cell${i}`),
      columns: new Map([
        ['cell_type', categorical(typeNames, rows.map((r) => r.type))],
        ['batch', categorical(Array.from({ length: o.batches }, (_, b) => `batch${b}`), rows.map((r) => r.batch))],
      ]),
    },
    var: { index: Array.from({ length: o.genes }, (_, g) => `gene${g}`), columns: new Map() },
  };
}

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** Writes the synthetic set for `sigma` and `seed` under bench/out/integration/ (or `out`); returns its path. */
export async function writeBatchEffectCounts(options: BatchEffectOptions, out = join(repoRoot, 'bench', 'out', 'integration', `synthetic-sigma${options.sigma}-seed${options.seed}.h5ad`)): Promise<string> {
  await mkdir(dirname(out), { recursive: true });
  await writeH5ad(out, batchEffectCounts(options));
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { sigma: { type: 'string', default: '0.45' }, seed: { type: 'string', default: '0' }, out: { type: 'string' } } });
  const path = await writeBatchEffectCounts({ sigma: Number(values.sigma), seed: Number(values.seed) }, values.out);
  console.log(path);
}
