/**
 * Model inputs (the dataset's typed arrays, dense or CSR) and their conversion to dense mini-batch tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { isCsr } from '../io/sparse.js';
import type { Matrix } from '../io/types.js';
import type { Rng } from '../random.js';
import type { Batch } from './module.js';

/** One categorical covariate; code −1 = missing (all-zero one-hot). */
export interface ConditionInput {
  readonly name: string;
  readonly categories: readonly string[];
  readonly codes: Int32Array;
}

/** Cell labels; code −1 = unlabelled. */
export interface LabelInput {
  readonly categories: readonly string[];
  readonly codes: Int32Array;
}

export interface ModelInputs {
  /** Cells x features: log-normalised expression (mse, gaussian), values in [0,1] (bernoulli) or raw counts (nb). */
  readonly x: Matrix;
  readonly geneNames?: readonly string[];
  /** Library sizes for nb; default: row sums of x. */
  readonly libSize?: Float32Array;
  readonly conditions?: readonly ConditionInput[];
  readonly labels?: LabelInput;
}

/** Dense copy of the given rows, [rows.length x nCols]. */
function denseRows(m: Matrix, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * m.nCols);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (isCsr(m)) {
      for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) out[i * m.nCols + m.indices[p]] = m.data[p];
    } else {
      out.set(m.data.subarray(r * m.nCols, (r + 1) * m.nCols), i * m.nCols);
    }
  }
  return out;
}

export function rowSums(m: Matrix): Float32Array {
  const out = new Float32Array(m.nRows);
  for (let r = 0; r < m.nRows; r++) {
    let s = 0;
    if (isCsr(m)) for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) s += m.data[p];
    else for (let j = r * m.nCols; j < (r + 1) * m.nCols; j++) s += m.data[j];
    out[r] = s;
  }
  return out;
}

/** Everything a batch needs, already aligned to the model's conditions. */
export interface PreparedData {
  readonly x: Matrix;
  readonly nCells: number;
  /** Condition codes per covariate, in the model's category order. */
  readonly conditionCodes: readonly Int32Array[];
  readonly conditionSizes: readonly number[];
  /** Label codes in the model's label order, −1 = missing; null without labels. */
  readonly labelCodes: Int32Array | null;
  readonly nClusters: number;
  readonly libSize: Float32Array | null;
}

/** The concatenated one-hot conditions of `rows` ([rows x Σ sizes]), or null without conditions. */
export function conditionOneHot(data: Pick<PreparedData, 'conditionCodes' | 'conditionSizes'>, rows: ArrayLike<number>): tf.Tensor2D | null {
  const nc = data.conditionSizes.reduce((a, s) => a + s, 0);
  if (nc === 0) return null;
  const b = rows.length;
  const buf = new Float32Array(b * nc);
  let offset = 0;
  data.conditionCodes.forEach((codes, j) => {
    for (let i = 0; i < b; i++) {
      const code = codes[rows[i]];
      if (code >= 0) buf[i * nc + offset + code] = 1;
    }
    offset += data.conditionSizes[j];
  });
  return tf.tensor2d(buf, [b, nc]);
}

/** Build the dense tensors of one mini-batch; `withLabels` false hides the labels (unsupervised use). */
export function makeBatch(data: PreparedData, rows: ArrayLike<number>, withLabels: boolean): Batch {
  const b = rows.length;
  const x = tf.tensor2d(denseRows(data.x, rows), [b, data.x.nCols]);
  const c = conditionOneHot(data, rows);
  let y: tf.Tensor2D | null = null;
  let labelled: tf.Tensor1D | null = null;
  if (withLabels && data.labelCodes) {
    const k = data.nClusters;
    const buf = new Float32Array(b * k);
    const mask = new Float32Array(b);
    for (let i = 0; i < b; i++) {
      const code = data.labelCodes[rows[i]];
      if (code >= 0) {
        buf[i * k + code] = 1;
        mask[i] = 1;
      }
    }
    y = tf.tensor2d(buf, [b, k]);
    labelled = tf.tensor1d(mask);
  }
  const libSize = data.libSize ? tf.tensor1d(Float32Array.from(rows, (r) => data.libSize![r])) : null;
  return { x, c, y, labelled, libSize };
}

export function disposeBatch(batch: Batch): void {
  for (const t of [batch.x, batch.c, batch.y, batch.labelled, batch.libSize]) t?.dispose();
}

/** Cells per batch when only evaluating (no gradients to hold). */
export const EVAL_BATCH = 1024;

/** Run `f` on each batch of `rows` (labels hidden) and concatenate its `width` outputs per row, in `rows` order. */
export function mapRowBatches(data: PreparedData, rows: Int32Array, width: number, f: (batch: Batch) => tf.Tensor): Float32Array {
  const out = new Float32Array(rows.length * width);
  let offset = 0;
  for (const part of splitBatches(rows, EVAL_BATCH)) {
    const batch = makeBatch(data, part, false);
    try {
      const t = tf.tidy(() => f(batch));
      out.set(t.dataSync(), offset);
      t.dispose();
    } finally {
      disposeBatch(batch);
    }
    offset += part.length * width;
  }
  return out;
}

/** Split `indices` into ceil(n / size) batches of near-equal size (no tiny last batch for batch-norm). */
export function splitBatches(indices: Int32Array, size: number): Int32Array[] {
  const n = indices.length;
  if (n === 0) return [];
  const count = Math.ceil(n / size);
  const out: Int32Array[] = [];
  for (let i = 0; i < count; i++) out.push(indices.subarray(Math.floor((i * n) / count), Math.floor(((i + 1) * n) / count)));
  return out;
}

/**
 * One epoch's batches. With both labelled and unlabelled cells, batches alternate between the two
 * sets, the smaller one cycling, so the supervised signal is present throughout the epoch.
 */
export function epochBatches(rng: Rng, labelled: Int32Array, unlabelled: Int32Array, batchSize: number): Int32Array[] {
  const lab = splitBatches(rng.shuffle(labelled.slice()), batchSize);
  const unl = splitBatches(rng.shuffle(unlabelled.slice()), batchSize);
  if (lab.length === 0 || unl.length === 0) return lab.length ? lab : unl;
  const out: Int32Array[] = [];
  for (let i = 0; i < Math.max(lab.length, unl.length); i++) out.push(unl[i % unl.length], lab[i % lab.length]);
  return out;
}
