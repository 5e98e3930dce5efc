/**
 * The c*GMΔVÆ module: its networks and the negative ELBO.
 *
 * Generative p(x,y,z,w,d|c) = p(x|z,c) p(z|w,y,c) p(y|d) p(d) p(w); inference q(z,w|x,c) from one
 * encoder Qwz, q(y|z,c) = Cat(softmax Qy), q(d|z,c) = Dir(exp Qd). y is enumerated, z and w are
 * reparameterised with one sample. The thesis' symbols stand for the config's names: K = nClusters,
 * nz = latentDim (z), nw = wDim (w), g = nInput (x).
 */
import * as tf from '@tensorflow/tfjs';
import { LIKELIHOODS, type ModuleConfig } from './config.js';
import { Mlp, ParamStore, softClip, softClipInverse, type ForwardContext } from './layers.js';
import { Rng } from '../random.js';
import { digamma, lgamma, lgammaNumber } from './special.js';

export const TERM_NAMES = ['reconstruction', 'z', 'w', 'y', 'd'] as const;
export type TermName = (typeof TERM_NAMES)[number];

/** One mini-batch, dense. */
export interface Batch {
  /** [B, nInput]: the likelihood's target (raw counts for nb). */
  readonly x: tf.Tensor2D;
  /** [B, Σ condition sizes], or null without conditions. */
  readonly c: tf.Tensor2D | null;
  /** [B, K] one-hot labels (zero rows where missing), or null when unlabelled. */
  readonly y: tf.Tensor2D | null;
  /** [B] 1 where labelled. */
  readonly labelled: tf.Tensor1D | null;
  /** [B] library sizes (nb only). */
  readonly libSize: tf.Tensor1D | null;
  /** [B, nInput] the conditions' means, subtracted from the encoder's input; null when not centred. */
  readonly encoderShift: tf.Tensor2D | null;
}

const MEAN_CLIP: [number, number] = [-5, 5];
const LOGVAR_CLIP: [number, number] = [-9, 1];
const LOG_SIGMA_CLIP: [number, number] = [-4, 2];
const LOG_ALPHA_CLIP: [number, number] = [-5, 8];
const LOG_2PI = Math.log(2 * Math.PI);
/** Standard deviation of the initial component means of p(z|w,y,c). */
const COMPONENT_SPREAD = 1.5;
/** Encoder input for nb: log1p of counts normalised to this total. */
export const NB_TARGET_SUM = 1e4;

export interface Encoded {
  readonly muZ: tf.Tensor2D;
  readonly logvarZ: tf.Tensor2D;
  readonly muW: tf.Tensor2D;
  readonly logvarW: tf.Tensor2D;
}

export class CgmvaeModule {
  readonly params = new ParamStore();
  private readonly qwz: Mlp;
  private readonly px: Mlp;
  private readonly pz: Mlp;
  private readonly qy: Mlp;
  private readonly qd: Mlp;
  private readonly pw: Mlp | null;
  /** Per-feature log σ (gaussian) or log θ dispersion (nb). */
  private readonly featureScale: tf.Variable | null;
  readonly nCond: number;

  private moduleConfig: ModuleConfig;

  constructor(config: ModuleConfig, seed: number) {
    validateConfig(config);
    this.moduleConfig = config;
    const rng = new Rng(seed);
    const { nInput: g, nClusters: k, latentDim: nz, wDim: nw, hidden, latentHidden, dropout } = config;
    const nc = config.conditionSizes.reduce((a, b) => a + b, 0);
    this.nCond = nc;
    this.qwz = new Mlp(this.params, 'qwz', g + nc, hidden, 2 * (nz + nw), dropout, rng);
    this.px = new Mlp(this.params, 'px', nz + nc, [...hidden].reverse(), g, dropout, rng);
    this.pz = new Mlp(this.params, 'pz', nw + nc, latentHidden, 2 * k * nz, dropout, rng);
    // Start the K component means apart so that no component begins as a copy of another.
    const spread = Float32Array.from({ length: 2 * k * nz }, (_, i) => (i % (2 * nz) < nz ? COMPONENT_SPREAD * rng.normal() : 0));
    tf.tidy(() => this.pz.head.b.assign(tf.tensor1d(spread)));
    this.qy = new Mlp(this.params, 'qy', nz + nc, latentHidden, k, dropout, rng);
    this.qd = new Mlp(this.params, 'qd', nz + nc, latentHidden, k, dropout, rng);
    this.pw = config.learnedWPrior && nc > 0 ? new Mlp(this.params, 'pw', nc, latentHidden, 2 * nw, 0, rng) : null;
    const hasScale = config.likelihood === 'gaussian' || config.likelihood === 'nb';
    this.featureScale = hasScale ? this.params.add('feature_scale', tf.zeros([g])) : null;
  }

  get config(): ModuleConfig {
    return this.moduleConfig;
  }

  dispose(): void {
    this.params.dispose();
  }

  /**
   * Rebuilds the heads whose width is the number of components (p(z|w,y,c), q(y), q(d)) for `nClusters`,
   * freshly initialised as new layers are (placeComponents then sets them); returns the old variables and the new.
   */
  resizeComponents(nClusters: number, rng: Rng): { removed: tf.Variable[]; added: tf.Variable[] } {
    const heads = [this.pz, this.qy, this.qd];
    const removed = heads.flatMap((mlp) => [mlp.head.W, mlp.head.b]);
    const { latentDim: nz } = this.moduleConfig;
    this.pz.replaceHead(2 * nClusters * nz, rng);
    this.qy.replaceHead(nClusters, rng);
    this.qd.replaceHead(nClusters, rng);
    this.moduleConfig = { ...this.moduleConfig, nClusters };
    validateConfig(this.moduleConfig);
    return { removed, added: heads.flatMap((mlp) => [mlp.head.W, mlp.head.b]) };
  }

  private withC(t: tf.Tensor2D, c: tf.Tensor2D | null): tf.Tensor2D {
    return c ? tf.concat([t, c], 1) : t;
  }

  /** What the encoder sees: x itself, or log1p of library-normalised counts for nb, minus the conditions' means when centred. */
  encoderInput(batch: Batch): tf.Tensor2D {
    const input = this.config.likelihood === 'nb' ? (tf.log1p(tf.mul(tf.div(batch.x, tf.maximum(batch.libSize!, 1).reshape([-1, 1])), NB_TARGET_SUM)) as tf.Tensor2D) : batch.x;
    return batch.encoderShift ? (tf.sub(input, batch.encoderShift) as tf.Tensor2D) : input;
  }

  encode(batch: Batch, ctx: ForwardContext): Encoded {
    const { latentDim: nz, wDim: nw } = this.config;
    const out = this.qwz.apply(this.withC(this.encoderInput(batch), batch.c), ctx) as tf.Tensor2D;
    const [muZ, logvarZ, muW, logvarW] = tf.split(out, [nz, nz, nw, nw], 1) as tf.Tensor2D[];
    return {
      muZ: softClip(muZ, ...MEAN_CLIP) as tf.Tensor2D,
      logvarZ: softClip(logvarZ, ...LOGVAR_CLIP) as tf.Tensor2D,
      muW: softClip(muW, ...MEAN_CLIP) as tf.Tensor2D,
      logvarW: softClip(logvarW, ...LOGVAR_CLIP) as tf.Tensor2D,
    };
  }

  /** Means and log-variances of all K components of p(z|w,c): each [B, K, nz]. */
  componentPriors(w: tf.Tensor2D, c: tf.Tensor2D | null, ctx: ForwardContext): { mu: tf.Tensor3D; logvar: tf.Tensor3D } {
    const { nClusters: k, latentDim: nz } = this.config;
    const out = this.pz.apply(this.withC(w, c), ctx);
    const [mu, logvar] = tf.split(out.reshape([-1, k, 2 * nz]), 2, 2) as tf.Tensor3D[];
    return { mu: softClip(mu, ...MEAN_CLIP) as tf.Tensor3D, logvar: softClip(logvar, ...LOGVAR_CLIP) as tf.Tensor3D };
  }

  /** p(w|c): null means N(0, I). */
  wPrior(c: tf.Tensor2D | null, ctx: ForwardContext): { mu: tf.Tensor2D; logvar: tf.Tensor2D } | null {
    if (!this.pw || !c) return null;
    const [mu, logvar] = tf.split(this.pw.apply(c, ctx), 2, 1) as tf.Tensor2D[];
    return { mu: softClip(mu, ...MEAN_CLIP) as tf.Tensor2D, logvar: softClip(logvar, ...LOGVAR_CLIP) as tf.Tensor2D };
  }

  /** Unsmoothed q(y|z,c) logits, [B, K]. */
  clusterLogits(z: tf.Tensor2D, c: tf.Tensor2D | null, ctx: ForwardContext): tf.Tensor2D {
    return this.qy.apply(this.withC(z, c), ctx) as tf.Tensor2D;
  }

  /** Concentrations α_q of q(d|z,c), [B, K]. */
  dirichletConcentration(z: tf.Tensor2D, c: tf.Tensor2D | null, ctx: ForwardContext): tf.Tensor2D {
    return tf.exp(softClip(this.qd.apply(this.withC(z, c), ctx), ...LOG_ALPHA_CLIP)) as tf.Tensor2D;
  }

  /** Raw decoder output (means, logits, or gene logits for nb). */
  decodeRaw(z: tf.Tensor2D, c: tf.Tensor2D | null, ctx: ForwardContext): tf.Tensor2D {
    return this.px.apply(this.withC(z, c), ctx) as tf.Tensor2D;
  }

  /** The expected value of p(x|z,c): means, probabilities, or expected counts at the given library sizes. */
  decodeMean(z: tf.Tensor2D, c: tf.Tensor2D | null, ctx: ForwardContext, libSize: tf.Tensor1D | null): tf.Tensor2D {
    const raw = this.decodeRaw(z, c, ctx);
    switch (this.config.likelihood) {
      case 'bernoulli':
        return tf.sigmoid(raw);
      case 'nb':
        return tf.mul(tf.softmax(raw), libSize!.reshape([-1, 1]));
      default:
        return raw;
    }
  }

  /** −log p(x|z,c) per cell, [B]. */
  reconstructionLoss(x: tf.Tensor2D, raw: tf.Tensor2D, libSize: tf.Tensor1D | null): tf.Tensor1D {
    switch (this.config.likelihood) {
      case 'mse':
        return tf.sum(tf.squaredDifference(x, raw), 1);
      case 'gaussian': {
        const logSigma = softClip(this.featureScale!, ...LOG_SIGMA_CLIP);
        const z2 = tf.mul(tf.squaredDifference(x, raw), tf.exp(tf.mul(logSigma, -2)));
        return tf.sum(tf.add(tf.mul(z2, 0.5), tf.add(logSigma, 0.5 * LOG_2PI)), 1);
      }
      case 'bernoulli':
        return tf.sum(tf.sub(tf.softplus(raw), tf.mul(x, raw)), 1);
      case 'nb':
        return negativeBinomialNll(x, tf.add(tf.logSoftmax(raw), tf.log(tf.maximum(libSize!, 1)).reshape([-1, 1])), this.featureScale!);
    }
  }

  /**
   * The five terms of −ELBO per cell ([B] each). Labelled cells (batch.labelled = 1) use the observed
   * component in the z-term and −log q(y|z,c) − E_q(d) log p(y|d) as the y-term.
   */
  lossTerms(batch: Batch, ctx: ForwardContext): LossTerms {
    const { nClusters: k, dirichletAlpha: alpha, yEpsilon: eps } = this.config;
    const enc = this.encode(batch, ctx);
    const z = reparameterise(enc.muZ, enc.logvarZ, ctx.seed);
    const w = reparameterise(enc.muW, enc.logvarW, (ctx.seed ^ 0x9e3779b9) >>> 0);

    const reconstruction = this.reconstructionLoss(batch.x, this.decodeRaw(z, batch.c, ctx), batch.libSize);

    const prior = this.componentPriors(w, batch.c, ctx);
    const klZ = gaussianKl(enc.muZ.expandDims(1), enc.logvarZ.expandDims(1), prior.mu, prior.logvar); // [B, K]

    const wp = this.wPrior(batch.c, ctx);
    const wTerm = wp ? gaussianKl(enc.muW, enc.logvarW, wp.mu, wp.logvar) : standardNormalKl(enc.muW, enc.logvarW);

    const zy = this.config.classifyWithMean ? enc.muZ : z;
    const qy = tf.add(tf.mul(tf.softmax(this.clusterLogits(zy, batch.c, ctx)), 1 - eps), eps / k) as tf.Tensor2D;
    const logQy = tf.log(qy);
    const alphaQ = this.dirichletConcentration(zy, batch.c, ctx);
    const expectedLogD = tf.sub(digamma(alphaQ), digamma(tf.sum(alphaQ, 1, true))); // E_q(d) log d_k = ψ(α_k) − ψ(α_0)

    // Component weights: q(y) for unlabelled cells, the one-hot label for labelled ones.
    let weights: tf.Tensor = qy;
    let entropyPart: tf.Tensor = tf.sum(tf.mul(qy, logQy), 1);
    if (batch.y && batch.labelled) {
      const m = batch.labelled.reshape([-1, 1]);
      weights = tf.add(tf.mul(batch.y, m), tf.mul(qy, tf.sub(1, m)));
      const labelledPart = tf.neg(tf.sum(tf.mul(batch.y, logQy), 1));
      entropyPart = tf.add(tf.mul(entropyPart, tf.sub(1, batch.labelled)), tf.mul(labelledPart, batch.labelled));
    }
    const zTerm = tf.sum(tf.mul(weights, klZ), 1);
    const yTerm = tf.sub(entropyPart, tf.sum(tf.mul(weights, expectedLogD), 1));
    const dTerm = dirichletKl(alphaQ, alpha, expectedLogD);
    return { reconstruction, z: zTerm, w: wTerm, y: yTerm, d: dTerm, clusterProbs: qy } as LossTerms;
  }

  /**
   * Put component k's prior p(z|w,y=k,c) at `centroids[k]` with diagonal variance `variances[k]`
   * (both [K x nz], row-major; values beyond the soft clips land just inside them), independent of
   * w and c at first: the head's kernel is zeroed. Returns the variables it re-initialised.
   */
  placeComponents(centroids: ArrayLike<number>, variances: ArrayLike<number>): tf.Variable[] {
    const { nClusters: k, latentDim: nz } = this.config;
    const bias = new Float32Array(2 * k * nz);
    for (let m = 0; m < k; m++) {
      for (let j = 0; j < nz; j++) {
        bias[m * 2 * nz + j] = softClipInverse(centroids[m * nz + j]!, ...MEAN_CLIP);
        bias[m * 2 * nz + nz + j] = softClipInverse(Math.log(variances[m * nz + j]!), ...LOGVAR_CLIP);
      }
    }
    tf.tidy(() => {
      this.pz.head.W.assign(tf.zerosLike(this.pz.head.W));
      this.pz.head.b.assign(tf.tensor1d(bias));
      // q(y|z,c) and q(d|z,c) start uniform again: saturated old logits would leave the new components no gradient.
      for (const head of [this.qy.head, this.qd.head]) {
        head.W.assign(tf.zerosLike(head.W));
        head.b.assign(tf.zerosLike(head.b));
      }
    });
    return [this.pz.head, this.qy.head, this.qd.head].flatMap((head) => [head.W, head.b]);
  }

  /**
   * Re-seed an unused component as a copy of a crowded one (as k-means re-seeds an empty cluster):
   * its p(z|w,y,c) head, q(y) logit and q(d) column copy the donor's, the shared logit is halved
   * between the two, and the copy's means are nudged so the z-term can pull them apart.
   */
  splitComponent(dead: number, donor: number, rng: Rng): void {
    const { latentDim: nz } = this.config;
    const copyColumns = (head: { W: tf.Variable; b: tf.Variable }, width: number, biasShift: (j: number) => number) => {
      const [nIn, nOut] = head.W.shape;
      const w = head.W.dataSync().slice();
      const b = head.b.dataSync().slice();
      for (let j = 0; j < width; j++) {
        const [to, from] = [dead * width + j, donor * width + j];
        for (let i = 0; i < nIn; i++) w[i * nOut + to] = w[i * nOut + from];
        b[to] = b[from] + biasShift(j);
      }
      tf.tidy(() => {
        head.W.assign(tf.tensor2d(w, [nIn, nOut]));
        head.b.assign(tf.tensor1d(b));
      });
    };
    copyColumns(this.pz.head, 2 * nz, (j) => (j < nz ? 0.5 * rng.normal() : 0));
    copyColumns(this.qy.head, 1, () => 0);
    copyColumns(this.qd.head, 1, () => 0);
    // Both copies now share the donor's mass: lower each logit by ln 2.
    tf.tidy(() => {
      const b = this.qy.head.b.dataSync().slice();
      b[dead] -= Math.LN2;
      b[donor] -= Math.LN2;
      this.qy.head.b.assign(tf.tensor1d(b));
    });
  }
}

/** The five −ELBO terms per cell, and the smoothed q(y|z,c) they used. */
export type LossTerms = Record<TermName, tf.Tensor1D> & { clusterProbs: tf.Tensor2D };

function validateConfig(c: ModuleConfig): void {
  const positiveInts: [string, number][] = [['nInput', c.nInput], ['nClusters', c.nClusters], ['latentDim', c.latentDim], ['wDim', c.wDim]];
  for (const [name, v] of positiveInts) if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  if (!LIKELIHOODS.includes(c.likelihood)) throw new Error(`unknown likelihood '${c.likelihood}'`);
  if (!(c.dirichletAlpha > 0)) throw new Error('dirichletAlpha must be > 0');
  if (!(c.yEpsilon >= 0 && c.yEpsilon < 1)) throw new Error('yEpsilon must be in [0, 1)');
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new Error('dropout must be in [0, 1)');
}

/** Standard normal noise from a uint32 seed; tfjs takes a Gaussian seed of 0 for "unseeded" (Math.random), so it is shifted by one. */
export function seededNormal(shape: [number, number], seed: number): tf.Tensor2D {
  return tf.randomNormal(shape, 0, 1, 'float32', seed + 1) as tf.Tensor2D;
}

/** μ + σ ε with a seeded standard normal ε. */
export function reparameterise(mu: tf.Tensor2D, logvar: tf.Tensor2D, seed: number): tf.Tensor2D {
  return tf.add(mu, tf.mul(tf.exp(tf.mul(logvar, 0.5)), seededNormal(mu.shape, seed))) as tf.Tensor2D;
}

/** KL(N(μ1, e^lv1) ‖ N(μ2, e^lv2)) summed over the last axis (broadcasting). */
export function gaussianKl(mu1: tf.Tensor, lv1: tf.Tensor, mu2: tf.Tensor, lv2: tf.Tensor): tf.Tensor {
  const ratio = tf.exp(tf.sub(lv1, lv2));
  const dist = tf.mul(tf.square(tf.sub(mu1, mu2)), tf.exp(tf.neg(lv2))); // squaredDifference has no broadcasting gradient
  return tf.mul(tf.sum(tf.sub(tf.add(tf.sub(lv2, lv1), tf.add(ratio, dist)), 1), -1), 0.5);
}

/** KL(N(μ, e^lv) ‖ N(0, I)) summed over the last axis. */
export function standardNormalKl(mu: tf.Tensor, lv: tf.Tensor): tf.Tensor {
  return tf.mul(tf.sum(tf.sub(tf.add(tf.exp(lv), tf.square(mu)), tf.add(lv, 1)), -1), 0.5);
}

/** KL(Dir(α_q) ‖ Dir(α, …, α)) per row of α_q [B, K]; pass ψ(α_q) − ψ(α_q0) when already computed. */
export function dirichletKl(alphaQ: tf.Tensor2D, alpha: number, digammaDiff?: tf.Tensor): tf.Tensor1D {
  const k = alphaQ.shape[1];
  const a0 = tf.sum(alphaQ, 1);
  const constant = -lgammaNumber(k * alpha) + k * lgammaNumber(alpha);
  digammaDiff ??= tf.sub(digamma(alphaQ), digamma(a0).reshape([-1, 1])); // ψ(α_qk) − ψ(α_q0)
  const cross = tf.sum(tf.mul(tf.sub(alphaQ, alpha), digammaDiff), 1);
  return tf.add(tf.sub(lgamma(a0), tf.sum(lgamma(alphaQ), 1)), tf.add(cross, constant)) as tf.Tensor1D;
}

/** −log NB(x; μ = e^logMu, θ = e^logTheta) per row, θ per feature. */
export function negativeBinomialNll(x: tf.Tensor2D, logMu: tf.Tensor, logTheta: tf.Tensor): tf.Tensor1D {
  const theta = tf.exp(logTheta);
  const logThetaMu = tf.log(tf.add(theta, tf.exp(logMu))); // log(θ + μ)
  const ll = tf.add(
    tf.sub(tf.sub(lgamma(tf.add(x, theta)), lgamma(theta)), lgamma(tf.add(x, 1))),
    tf.add(tf.mul(theta, tf.sub(logTheta, logThetaMu)), tf.mul(x, tf.sub(logMu, logThetaMu))),
  );
  return tf.neg(tf.sum(ll, 1)) as tf.Tensor1D;
}
