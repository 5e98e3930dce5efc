/**
 * Parameter store and the hidden block Linear → Dropout → BatchNorm → LeakyReLU, built from raw
 * variables so that the training loop controls seeds, batch-norm statistics and (de)serialisation.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../random.js';

const LEAKY_SLOPE = 0.01;
const BN_MOMENTUM = 0.9;
const BN_EPSILON = 1e-5;

let storeCounter = 0;

/** Named variables of one model; keys are stable (used in saved weights), tf names are unique per process. */
export class ParamStore {
  readonly trainable = new Map<string, tf.Variable>();
  readonly state = new Map<string, tf.Variable>();
  private readonly prefix = `cgmvae${storeCounter++}`;

  add(key: string, value: tf.Tensor, trainable = true): tf.Variable {
    if (this.trainable.has(key) || this.state.has(key)) throw new Error(`duplicate parameter '${key}'`);
    const v = tf.variable(value, trainable, `${this.prefix}/${key}`);
    value.dispose();
    (trainable ? this.trainable : this.state).set(key, v);
    return v;
  }

  /** Disposes and forgets the variable under `key`. */
  remove(key: string): void {
    const v = this.trainable.get(key) ?? this.state.get(key);
    if (!v) throw new Error(`no parameter '${key}'`);
    v.dispose();
    this.trainable.delete(key);
    this.state.delete(key);
  }

  /** The dense kernels (keys ending in /W): the variables weight decay applies to. */
  kernels(): Set<tf.Variable> {
    return new Set([...this.trainable].filter(([key]) => key.endsWith('/W')).map(([, v]) => v));
  }

  /** Every variable (trainable and state), by key. */
  all(): Map<string, tf.Variable> {
    return new Map([...this.trainable, ...this.state]);
  }

  dispose(): void {
    for (const v of this.all().values()) v.dispose();
  }
}

/** Per-forward options: training turns on dropout and batch statistics. */
export interface ForwardContext {
  readonly training: boolean;
  /** Seed for this step's dropout masks; each layer offsets it. */
  readonly seed: number;
  /** Batch-norm moving statistics to assign after the step (filled in training mode). */
  readonly bnUpdates: { variable: tf.Variable; value: tf.Tensor }[];
}

/** Evaluation mode: no dropout, batch-norm moving statistics. */
export const EVAL_CONTEXT: ForwardContext = { training: false, seed: 0, bnUpdates: [] };

export class Dense {
  readonly W: tf.Variable;
  readonly b: tf.Variable;
  constructor(store: ParamStore, key: string, nIn: number, nOut: number, rng: Rng) {
    const limit = Math.sqrt(6 / (nIn + nOut));
    const init = new Float32Array(nIn * nOut);
    for (let i = 0; i < init.length; i++) init[i] = (2 * rng.uniform() - 1) * limit;
    this.W = store.add(`${key}/W`, tf.tensor2d(init, [nIn, nOut]));
    this.b = store.add(`${key}/b`, tf.zeros([nOut]));
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.add(tf.matMul(x as tf.Tensor2D, this.W as tf.Tensor2D), this.b);
  }
}

class BatchNorm {
  private readonly gamma: tf.Variable;
  private readonly beta: tf.Variable;
  private readonly movingMean: tf.Variable;
  private readonly movingVar: tf.Variable;
  constructor(store: ParamStore, key: string, n: number) {
    this.gamma = store.add(`${key}/gamma`, tf.ones([n]));
    this.beta = store.add(`${key}/beta`, tf.zeros([n]));
    this.movingMean = store.add(`${key}/moving_mean`, tf.zeros([n]), false);
    this.movingVar = store.add(`${key}/moving_var`, tf.ones([n]), false);
  }
  apply(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    let mean: tf.Tensor = this.movingMean;
    let variance: tf.Tensor = this.movingVar;
    if (ctx.training && x.shape[0]! > 1) {
      const m = tf.moments(x, 0);
      mean = m.mean;
      variance = m.variance;
      const blend = (old: tf.Variable, batch: tf.Tensor) => tf.keep(tf.add(tf.mul(old, BN_MOMENTUM), tf.mul(batch, 1 - BN_MOMENTUM)));
      ctx.bnUpdates.push({ variable: this.movingMean, value: blend(this.movingMean, mean) });
      ctx.bnUpdates.push({ variable: this.movingVar, value: blend(this.movingVar, variance) });
    }
    const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, BN_EPSILON)));
    return tf.add(tf.mul(normed, this.gamma), this.beta);
  }
}

/** Hidden blocks then a linear head. */
export class Mlp {
  private readonly blocks: { dense: Dense; bn: BatchNorm; seedOffset: number }[] = [];
  private headLayer: Dense;
  constructor(private readonly store: ParamStore, private readonly key: string, nIn: number, hidden: readonly number[], nOut: number, private readonly dropout: number, rng: Rng) {
    let width = nIn;
    hidden.forEach((h, i) => {
      this.blocks.push({ dense: new Dense(store, `${key}/h${i}`, width, h, rng), bn: new BatchNorm(store, `${key}/bn${i}`, h), seedOffset: rng.int() });
      width = h;
    });
    this.headLayer = new Dense(store, `${key}/out`, width, nOut, rng);
  }

  get head(): Dense {
    return this.headLayer;
  }

  /** A new head of `nOut` outputs in place of the old one (its variables disposed), for a different number of components. */
  replaceHead(nOut: number, rng: Rng): Dense {
    const nIn = this.headLayer.W.shape[0]!;
    this.store.remove(`${this.key}/out/W`);
    this.store.remove(`${this.key}/out/b`);
    this.headLayer = new Dense(this.store, `${this.key}/out`, nIn, nOut, rng);
    return this.headLayer;
  }
  apply(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    let h = x;
    for (const block of this.blocks) {
      h = block.dense.apply(h);
      if (ctx.training && this.dropout > 0) h = tf.dropout(h, this.dropout, undefined, (ctx.seed ^ block.seedOffset) >>> 0);
      h = tf.leakyRelu(block.bn.apply(h, ctx), LEAKY_SLOPE);
    }
    return this.head.apply(h);
  }
}

/** Smoothly clip to (lo, hi): lo + softplus(x − lo) − softplus(x − hi); ≈ identity well inside. */
export function softClip(x: tf.Tensor, lo: number, hi: number): tf.Tensor {
  return tf.sub(tf.add(tf.softplus(tf.sub(x, lo)), lo), tf.softplus(tf.sub(x, hi)));
}

/** The x with softClip(x, lo, hi) = y, by bisection in double precision; y is first clamped just inside (lo, hi). */
export function softClipInverse(y: number, lo: number, hi: number): number {
  const softplus = (v: number) => (v > 30 ? v : Math.log1p(Math.exp(v)));
  const f = (x: number) => lo + softplus(x - lo) - softplus(x - hi);
  const target = Math.min(hi - 1e-3, Math.max(lo + 1e-3, y));
  let [a, b] = [lo - 40, hi + 40];
  for (let i = 0; i < 80; i++) {
    const mid = (a + b) / 2;
    if (f(mid) < target) a = mid;
    else b = mid;
  }
  return (a + b) / 2;
}
