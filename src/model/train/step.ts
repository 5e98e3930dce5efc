/** One optimisation step, and the per-term loss sums that steps and evaluation report. */
import * as tf from '@tensorflow/tfjs';
import { disposeBatch, makeBatch, splitBatches, type PreparedData } from '../data.js';
import type { ForwardContext } from '../layers.js';
import { TERM_NAMES, type Batch, type CgmvaeModule, type TermName } from '../module.js';
import type { AdamW } from '../optimizer.js';

export type TermValues = Record<TermName, number> & { total: number };

/**
 * Sums over the batch of each term, then the number of cells whose most probable component is k:
 * one [5 + K] tensor (a single sync per epoch).
 */
function termSums(module: CgmvaeModule, batch: Batch, ctx: ForwardContext): tf.Tensor1D {
  const terms = module.lossTerms(batch, ctx);
  const winners = tf.oneHot(tf.argMax(terms.clusterProbs, 1), module.config.nClusters).toFloat();
  return tf.concat([tf.stack(TERM_NAMES.map((n) => tf.sum(terms[n]))), tf.sum(winners, 0)]) as tf.Tensor1D;
}

/** Mean per cell of each term, and their total, from the sums of `n` cells. */
export function toTermValues(sums: ArrayLike<number>, n: number): TermValues {
  const out = { total: 0 } as TermValues;
  TERM_NAMES.forEach((name, i) => {
    out[name] = sums[i]! / n;
    out.total += sums[i]! / n;
  });
  return out;
}

/** Gradients of the batch's mean −ELBO, and the per-term sums (kept). */
function lossWithSums(module: CgmvaeModule, batch: Batch, ctx: ForwardContext): { grads: tf.NamedTensorMap; sums: tf.Tensor1D } {
  let sums: tf.Tensor1D | undefined;
  const { value, grads } = tf.variableGrads(() => {
    sums = tf.keep(termSums(module, batch, ctx));
    return tf.div(tf.sum(sums.slice(0, TERM_NAMES.length)), batch.x.shape[0]) as tf.Scalar;
  }, [...module.params.trainable.values()]);
  value.dispose();
  return { grads, sums: sums! };
}

function applyBatchNormUpdates(ctx: ForwardContext): void {
  for (const u of ctx.bnUpdates) {
    u.variable.assign(u.value);
    u.value.dispose();
  }
}

/** One AdamW step on the rows `rows` of `data`; returns the per-term sums over the batch. */
export function trainStep(module: CgmvaeModule, optimizer: AdamW, data: PreparedData, rows: Int32Array, seed: number, lr: number): tf.Tensor1D {
  const batch = makeBatch(data, rows, true);
  const ctx: ForwardContext = { training: true, seed, bnUpdates: [] };
  const { grads, sums } = lossWithSums(module, batch, ctx);
  optimizer.step(grads, lr);
  applyBatchNormUpdates(ctx);
  tf.dispose(Object.values(grads));
  disposeBatch(batch);
  return sums;
}

/** Mean −ELBO terms over `rows` in evaluation mode (fixed noise seed so epochs are comparable). */
export function evaluateLoss(module: CgmvaeModule, data: PreparedData, rows: Int32Array, batchSize: number, seed: number): TermValues {
  const total = new Float64Array(TERM_NAMES.length + module.config.nClusters);
  for (const part of splitBatches(rows, batchSize)) {
    const batch = makeBatch(data, part, true);
    const sumsTensor = tf.tidy(() => termSums(module, batch, { training: false, seed, bnUpdates: [] }));
    const sums = sumsTensor.dataSync();
    tf.dispose([sumsTensor]);
    disposeBatch(batch);
    sums.forEach((v, i) => (total[i] += v));
  }
  return toTermValues(total, rows.length);
}
