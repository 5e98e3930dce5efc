/**
 * Bench datasets for the model: MNIST (IDX), and labelled single-cell sets made into model inputs by
 * the pipeline's own steps (preprocessCells, modelInputs) with the run's resolved parameters.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { asCategories, subsetFrame } from '../src/io/frame.js';
import { readDataset } from '../src/io/index.js';
import { submatrix } from '../src/io/sparse.js';
import type { AnnData, DenseMatrix } from '../src/io/types.js';
import type { ModelInputs } from '../src/model/index.js';
import { datasetInMemory, modelInputs, preprocessCells, type Cells } from '../src/pipeline/index.js';
import { settleParams, type PipelineParams } from '../src/pipeline/params.js';

export const SHARED_DATA = new URL('../../shared/data/', import.meta.url).pathname;

export function dataPath(relative: string): string | null {
  const p = SHARED_DATA + relative;
  return existsSync(p) ? p : null;
}

/** MNIST test split: pixels scaled to [0, 1] and labels. */
export async function loadMnist(): Promise<{ x: DenseMatrix; labels: Int32Array } | null> {
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

/** The cells of `data` for which `keep` holds (all obs columns kept). */
export function keepRows(data: AnnData, keep: (cell: number) => boolean): AnnData {
  const rows = Int32Array.from({ length: data.X.nRows }, (_, i) => i).filter(keep);
  return { X: submatrix(data.X, rows, null), obs: subsetFrame(data.obs, rows), var: data.var };
}

/** Codes of an obs column of the preprocessed cells, by name. */
export function obsCodes(cells: Cells, key: string): Int32Array {
  return asCategories(cells.pre.obs, key, key).codes;
}

/** A counts dataset (optionally only the cells `keep` picks) preprocessed as `run` does with `params`, and the model's inputs. */
export async function loadSingleCell(path: string, params: PipelineParams, keep?: (data: AnnData, cell: number) => boolean): Promise<{ cells: Cells; inputs: ModelInputs }> {
  const { data, values } = await readDataset(path);
  const subset = keep ? keepRows(data, (cell) => keep(data, cell)) : data;
  const cells = preprocessCells(datasetInMemory(subset), params);
  return { cells, inputs: modelInputs(cells, settleParams(params, cells.kept.length, values)) };
}

/** Whether a cell's value of a categorical obs column is `value`. */
export function obsIs(data: AnnData, key: string, value: string): (cell: number) => boolean {
  const column = asCategories(data.obs, key, key);
  return (cell) => column.categories[column.codes[cell]!] === value;
}
