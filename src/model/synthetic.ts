/** The thesis' synthetic blobs: Gaussian classes under two conditions that shift every mean. */
import type { DenseInput } from './data.js';
import { Rng } from '../random.js';

export interface Blobs {
  readonly x: DenseInput;
  readonly labels: Int32Array;
  readonly conditions: Int32Array;
  /** Class means per condition: means[condition][class] is a Float64Array of dims. */
  readonly means: Float64Array[][];
}

/**
 * `classes` x `conditions` x `perGroup` points in `dims` dimensions; class means U(0,10), sds U(0,0.5);
 * each further condition's means are the previous ones + (1.2 + N(0, 0.5²)) per dimension.
 */
export function thesisBlobs(seed: number, dims = 16, classes = 5, conditions = 2, perGroup = 350): Blobs {
  const rng = new Rng(seed);
  const base = Array.from({ length: classes }, () => Float64Array.from({ length: dims }, () => 10 * rng.uniform()));
  const sds = Array.from({ length: classes }, () => Float64Array.from({ length: dims }, () => 0.5 * rng.uniform()));
  const means: Float64Array[][] = [base];
  for (let c = 1; c < conditions; c++) {
    const shift = Float64Array.from({ length: dims }, () => 1.2 + 0.5 * rng.normal());
    means.push(means[c - 1].map((m) => m.map((v, d) => v + shift[d])));
  }
  const n = classes * conditions * perGroup;
  const data = new Float32Array(n * dims);
  const labels = new Int32Array(n);
  const conds = new Int32Array(n);
  let i = 0;
  for (let c = 0; c < conditions; c++)
    for (let k = 0; k < classes; k++)
      for (let p = 0; p < perGroup; p++, i++) {
        labels[i] = k;
        conds[i] = c;
        for (let d = 0; d < dims; d++) data[i * dims + d] = means[c][k][d] + sds[k][d] * rng.normal();
      }
  return { x: { nRows: n, nCols: dims, data }, labels, conditions: conds, means };
}
