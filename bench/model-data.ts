/** Bench datasets for the model: MNIST (IDX), and CellBench / sorted PBMC through src/io and src/preprocess. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { readDataset, type Column, type CsrMatrix } from '../src/io/index.js';
import { highlyVariableGenes, log1p, normalizeTotal, subsetCsr } from '../src/preprocess/index.js';

export const SHARED_DATA = new URL('../../shared/data/', import.meta.url).pathname;

export function dataPath(relative: string): string | null {
  const p = SHARED_DATA + relative;
  return existsSync(p) ? p : null;
}

/** MNIST test split: pixels scaled to [0, 1] and labels. */
export async function loadMnist(): Promise<{ x: { nRows: number; nCols: number; data: Float32Array }; labels: Int32Array } | null> {
  const images = dataPath('mnist/t10k-images-idx3-ubyte.gz');
  const labels = dataPath('mnist/t10k-labels-idx1-ubyte.gz');
  if (!images || !labels) return null;
  const img = gunzipSync(await readFile(images));
  const lab = gunzipSync(await readFile(labels));
  const view = new DataView(img.buffer, img.byteOffset);
  if (view.getUint32(0) !== 2051 || new DataView(lab.buffer, lab.byteOffset).getUint32(0) !== 2049) throw new Error('not MNIST IDX files');
  const [n, rows, cols] = [view.getUint32(4), view.getUint32(8), view.getUint32(12)];
  const data = Float32Array.from(img.subarray(16, 16 + n * rows * cols), (v) => v / 255);
  return { x: { nRows: n, nCols: rows * cols, data }, labels: Int32Array.from(lab.subarray(8, 8 + n)) };
}

export interface ScData {
  /** log1p(normalize_total 1e4) on the HVGs. */
  readonly lognorm: CsrMatrix;
  /** Raw counts on the HVGs (nb). */
  readonly counts: CsrMatrix;
  /** Total counts per cell over all genes (nb library size). */
  readonly libSize: Float32Array;
  readonly geneNames: string[];
  readonly obs: Map<string, { categories: string[]; codes: Int32Array }>;
}

function categorical(col: Column | undefined, name: string): { categories: string[]; codes: Int32Array } {
  if (!col || col.kind !== 'categorical') throw new Error(`obs column '${name}' is not categorical`);
  return { categories: col.categories, codes: col.codes };
}

/** Read an h5ad of counts, keep `keep` cells, select `nTop` seurat_v3 HVGs (per `batchKey`), log-normalise. */
export async function loadSingleCell(path: string, obsKeys: string[], keep: (obs: Map<string, { categories: string[]; codes: Int32Array }>, i: number) => boolean, nTop: number, batchKey?: string): Promise<ScData> {
  const { data } = await readDataset(path);
  const allObs = new Map(obsKeys.map((k) => [k, categorical(data.obs.columns.get(k), k)]));
  const rows = Int32Array.from({ length: data.X.nRows }, (_, i) => i).filter((i) => keep(allObs, i));
  const allCols = Int32Array.from({ length: data.X.nCols }, (_, j) => j);
  const cells = subsetCsr(data.X, rows, allCols);
  const obs = new Map([...allObs].map(([k, v]) => [k, { categories: v.categories, codes: Int32Array.from(rows, (r) => v.codes[r]) }]));
  const batch = batchKey ? obs.get(batchKey)!.codes : undefined;
  const hvg = highlyVariableGenes(cells, { flavor: 'seurat_v3', nTopGenes: nTop, batch, valuesKind: 'counts' });
  const genes = Int32Array.from({ length: cells.nCols }, (_, j) => j).filter((j) => hvg.highly_variable[j] === 1);
  const libSize = new Float32Array(cells.nRows);
  for (let r = 0; r < cells.nRows; r++) for (let p = cells.indptr[r]; p < cells.indptr[r + 1]; p++) libSize[r] += cells.data[p];
  const normalised = log1p(normalizeTotal(cells, { targetSum: 1e4, valuesKind: 'counts' }).matrix, { valuesKind: 'counts' }).matrix;
  const cellRows = Int32Array.from({ length: cells.nRows }, (_, i) => i);
  return {
    lognorm: subsetCsr(normalised, cellRows, genes),
    counts: subsetCsr(cells, cellRows, genes),
    libSize,
    geneNames: Array.from(genes, (j) => data.var.index[j]),
    obs,
  };
}
