/** What the pipeline benches share: reading a run's clusters, scoring them, Seurat's reference runs, and timing another checkout. */
import { cpus, loadavg } from 'node:os';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { asCategories } from '../src/io/frame.js';
import type { AnnData } from '../src/io/types.js';
import { adjustedRandIndex, normalizedMutualInfo } from '../src/metrics/index.js';
import { repoRoot } from './integration-data.js';

export const shared = join(repoRoot, '..', 'shared');
export const hasSeurat = spawnSync('Rscript', ['-e', 'suppressMessages(library(Seurat))']).status === 0;
/** The head of a bench report: when, on what machine, with which extra parameters, against which anchor. */
export function reportHead(params: Record<string, unknown>, anchor: string): Record<string, unknown> {
  return {
    started: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, load: loadavg() },
    params,
    seurat: hasSeurat ? anchor : 'Rscript with Seurat absent: no reference line',
  };
}

export const round = (v: number) => Number(v.toFixed(4));

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Codes of an obs column of `data`, per cell. */
export function codesOf(data: AnnData, key: string): Int32Array {
  return asCategories(data.obs, key, key).codes;
}

/** Codes from a (barcode, label) CSV such as shared/reference's, per barcode of `barcodes` (-1 where absent). */
export function referenceCodes(csv: string, barcodes: readonly string[], column = 1): Int32Array {
  const rows = readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((line) => line.replaceAll('"', '').split(','));
  const names = new Map<string, number>();
  const byBarcode = new Map(rows.map((r) => [r[0]!, names.get(r[column]!) ?? names.set(r[column]!, names.size).get(r[column]!)!]));
  return Int32Array.from(barcodes, (b) => byBarcode.get(b) ?? -1);
}

/** Cluster code per barcode of a run's cells.csv, -1 for cells it did not keep. */
export function clustersOf(outDir: string, barcodes: readonly string[]): Int32Array {
  return referenceCodes(join(outDir, 'cells.csv'), barcodes);
}

export interface Scored {
  readonly ari: number;
  readonly nmi_condition: number | null;
  readonly clusters: number;
}

/** ARI with `truth` on the cells `keep` selects (and both label), the NMI of clusters with `condition`, and the number of clusters. */
export function score(clusters: Int32Array, truth: Int32Array, condition: Int32Array | null, keep?: (cell: number) => boolean): Scored {
  const mask = (codes: Int32Array) => (keep ? codes.map((c, i) => (keep(i) ? c : -1)) : codes);
  return {
    ari: round(adjustedRandIndex(mask(truth), mask(clusters))),
    nmi_condition: condition ? round(normalizedMutualInfo(mask(condition), mask(clusters))) : null,
    clusters: new Set(Array.from(clusters).filter((c) => c >= 0)).size,
  };
}

/**
 * Seurat 4.3 on `data`'s counts through shared/reference/seurat_default_and_integration.R: the default
 * workflow, or with `batchKey` the CCA integration; returns its default-resolution clusters and those
 * brought to `k`, per cell of `data`, and its seconds. Null without Rscript and Seurat.
 */
export function runSeurat(dir: string, data: AnnData, k: number, batchKey?: string): { clusters: Int32Array; kmatched: Int32Array; seconds: number } | null {
  if (!hasSeurat) return null;
  mkdirSync(dir, { recursive: true });
  const { X } = data;
  const lines = ['%%MatrixMarket matrix coordinate real general', `${X.nCols} ${X.nRows} ${X.indptr[X.nRows]}`];
  for (let r = 0; r < X.nRows; r++) for (let p = X.indptr[r]!; p < X.indptr[r + 1]!; p++) lines.push(`${X.indices[p]! + 1} ${r + 1} ${X.data[p]}`);
  writeFileSync(join(dir, 'matrix.mtx'), `${lines.join('\n')}\n`);
  writeFileSync(join(dir, 'genes.txt'), `${data.var.index.join('\n')}\n`);
  writeFileSync(join(dir, 'cells.txt'), `${data.obs.index.join('\n')}\n`);
  if (batchKey) {
    const batch = asCategories(data.obs, batchKey, batchKey);
    writeFileSync(join(dir, 'labels.csv'), `cell,batch\n${data.obs.index.map((b, i) => `${b},${batch.categories[batch.codes[i]!]}`).join('\n')}\n`);
  }
  const started = performance.now();
  execFileSync('Rscript', [join(shared, 'reference', 'seurat_default_and_integration.R'), dir, String(k), ...(batchKey ? ['int'] : [])], { stdio: ['ignore', 'ignore', 'inherit'] });
  const seconds = round((performance.now() - started) / 1000);
  const out = join(dir, batchKey ? 'seurat_int.csv' : 'seurat.csv');
  return { clusters: referenceCodes(out, data.obs.index, 1), kmatched: referenceCodes(out, data.obs.index, 2), seconds };
}

/** Wall seconds of `scgmdvae run` on `input` with `params` by the checkout at `root` (its own defaults), into `outDir`. */
export function runCheckout(root: string, input: string, params: object, outDir: string): number {
  mkdirSync(outDir, { recursive: true });
  const paramsFile = join(outDir, '..', `${basename(outDir)}-params.json`);
  writeFileSync(paramsFile, JSON.stringify(params));
  const cli = existsSync(join(root, 'src', 'cli', 'main.ts')) ? join(root, 'src', 'cli', 'main.ts') : join(root, 'src', 'cli.ts');
  const started = performance.now();
  execFileSync(process.execPath, ['--import', 'tsx', cli, 'run', input, '--out', outDir, '--params', paramsFile], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  return Number(((performance.now() - started) / 1000).toFixed(1));
}

/**
 * Wall seconds of `scgmdvae run` on `input` with `params`, alternating this checkout and `baseline` (an
 * earlier checkout with its node_modules; its own defaults), `rounds` times each; the two means' ratio.
 */
export function timeAgainst(baseline: string, input: string, params: object, baselineParams: object, workDir: string, rounds = 2) {
  const runs: { checkout: string; seconds: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const [checkout, root, given] of [['this', repoRoot, params], ['baseline', baseline, baselineParams]] as const) {
      runs.push({ checkout, seconds: runCheckout(root, input, given, join(workDir, `${checkout}-${round}`)) });
    }
  }
  const mean = (who: string) => runs.filter((r) => r.checkout === who).reduce((s, r) => s + r.seconds, 0) / rounds;
  return { runs, ratio: Number((mean('this') / mean('baseline')).toFixed(3)) };
}

/** Runs the named items in order, saving after each, and prints where the report went. */
export async function runItems(bench: string, names: string, items: Record<string, () => Promise<void> | void>, report: Record<string, unknown>, out: string) {
  const save = () => writeFileSync(out, JSON.stringify(report, null, 1));
  for (const item of names.split(',')) {
    if (!items[item]) throw new Error(`unknown item ${item}; items: ${Object.keys(items).join(', ')}`);
    console.error(`bench/${bench}: ${item}`);
    await items[item]();
    save();
  }
  report.finished = new Date().toISOString();
  save();
  console.log(out);
}
