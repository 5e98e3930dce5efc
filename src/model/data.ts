/**
 * Model inputs (the dataset's typed arrays, dense or CSR) and their conversion to dense mini-batch tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { isCsr } from '../io/sparse.js';
import type { Matrix } from '../io/types.js';
import type { Rng } from '../random.js';
import { NB_TARGET_SUM, type Batch } from './module.js';

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
  /** Per condition, each category's mean encoder input ([categories x nInput]), subtracted when the model centres by condition; null otherwise. */
  readonly conditionOffsets: readonly Float32Array[] | null;
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
  return { x, c, y, labelled, libSize, encoderShift: data.conditionOffsets && encoderShift(data, data.conditionOffsets, rows) };
}

/** Σ over conditions of each row's category offset, [rows x nInput]. */
function encoderShift(data: PreparedData, offsets: readonly Float32Array[], rows: ArrayLike<number>): tf.Tensor2D {
  const g = data.x.nCols;
  const out = new Float32Array(rows.length * g);
  offsets.forEach((offset, j) => {
    const codes = data.conditionCodes[j]!;
    for (let i = 0; i < rows.length; i++) {
      const code = codes[rows[i]!]!;
      if (code < 0) continue;
      const from = offset.subarray(code * g, (code + 1) * g);
      for (let q = 0; q < g; q++) out[i * g + q]! += from[q]!;
    }
  });
  return tf.tensor2d(out, [rows.length, g]);
}

export function disposeBatch(batch: Batch): void {
  for (const t of [batch.x, batch.c, batch.y, batch.labelled, batch.libSize, batch.encoderShift]) t?.dispose();
}

/**
 * The offsets that centre the encoder's input by condition: for each condition in turn, each category's
 * mean of the input (log1p of library-normalised counts for nb, with `libSize`) after the earlier
 * conditions' offsets are taken off. [categories x nInput] per condition; sparse rows are read as stored.
 */
export function conditionMeans(x: Matrix, conditionCodes: readonly Int32Array[], conditionSizes: readonly number[], libSize: Float32Array | null): Float32Array[] {
  const g = x.nCols;
  const value = (r: number, v: number) => (libSize ? Math.log1p((v / Math.max(libSize[r]!, 1)) * NB_TARGET_SUM) : v);
  const offsets: Float32Array[] = [];
  conditionCodes.forEach((codes, j) => {
    const size = conditionSizes[j]!;
    const sums = new Float64Array(size * g);
    const counts = new Float64Array(size);
    for (let r = 0; r < x.nRows; r++) {
      const code = codes[r]!;
      if (code < 0) continue;
      counts[code]++;
      const sum = sums.subarray(code * g, (code + 1) * g);
      if (isCsr(x)) for (let p = x.indptr[r]!; p < x.indptr[r + 1]!; p++) sum[x.indices[p]!]! += value(r, x.data[p]!);
      else for (let q = 0; q < g; q++) sum[q]! += value(r, x.data[r * g + q]!);
      // Earlier conditions' offsets, taken off this row first.
      offsets.forEach((earlier, e) => {
        const c = conditionCodes[e]![r]!;
        if (c >= 0) for (let q = 0; q < g; q++) sum[q]! -= earlier[c * g + q]!;
      });
    }
    offsets.push(Float32Array.from(sums, (s, i) => (counts[Math.floor(i / g)]! > 0 ? s / counts[Math.floor(i / g)]! : 0)));
  });
  return offsets;
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
