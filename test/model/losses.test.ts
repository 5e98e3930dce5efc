import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { pickBackend } from '../../src/model/backend.js';
import type { ForwardContext } from '../../src/model/layers.js';
import type { ModuleConfig } from '../../src/model/config.js';
import { CgmvaeModule, TERM_NAMES, dirichletKl, gaussianKl, negativeBinomialNll, reparameterise, standardNormalKl, type Batch } from '../../src/model/module.js';
import { lgammaNumber } from '../../src/model/special.js';

await pickBackend({ force: 'wasm', log: () => {} });

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
const scalarOf = (f: () => tf.Tensor) => tf.tidy(() => f().dataSync()[0]);

test('Gaussian KL by hand', () => {
  // KL(N(1,1) ‖ N(0,4)) = ½(ln 4 + (1 + 1)/4 − 1)
  close(scalarOf(() => gaussianKl(tf.tensor1d([1]), tf.tensor1d([0]), tf.tensor1d([0]), tf.tensor1d([Math.log(4)]))), 0.5 * (Math.log(4) - 0.5), 1e-6, 'gaussianKl');
  // KL(N((1,0), diag(1,2)) ‖ N(0, I)) = ½[(1 + 1 − 1 − 0) + (2 + 0 − 1 − ln 2)]
  close(scalarOf(() => standardNormalKl(tf.tensor1d([1, 0]), tf.tensor1d([0, Math.log(2)]))), 0.5 * (2 - Math.log(2)), 1e-6, 'standardNormalKl');
});

test('Dirichlet KL by hand', () => {
  // KL(Dir(2,3) ‖ Dir(1,1)) = ln Γ(5) − ln Γ(2) − ln Γ(3) + (ψ(2) − ψ(5)) + 2(ψ(3) − ψ(5)) = ln 12 − 2.25
  close(scalarOf(() => dirichletKl(tf.tensor2d([[2, 3]]), 1)), Math.log(12) - 2.25, 1e-5, 'KL(Dir(2,3)‖Dir(1,1))');
  close(scalarOf(() => dirichletKl(tf.tensor2d([[0.7, 0.7, 0.7]]), 0.7)), 0, 1e-5, 'KL(p‖p)');
});

test('negative binomial NLL by hand', () => {
  const [x, mu, theta] = [3, 2, 1.5];
  const ll = lgammaNumber(x + theta) - lgammaNumber(theta) - lgammaNumber(x + 1) + theta * Math.log(theta / (theta + mu)) + x * Math.log(mu / (theta + mu));
  close(scalarOf(() => negativeBinomialNll(tf.tensor2d([[x]]), tf.tensor2d([[Math.log(mu)]]), tf.tensor1d([Math.log(theta)]))), -ll, 1e-5, 'nb');
});

const softplus = (v: number) => Math.log1p(Math.exp(v));
const softClip = (v: number, lo: number, hi: number) => lo + softplus(v - lo) - softplus(v - hi);

function tinyModule(likelihood: ModuleConfig['likelihood'], classifyWithMean = false): CgmvaeModule {
  return new CgmvaeModule(
    { nInput: 3, nClusters: 2, latentDim: 2, wDim: 1, hidden: [4], latentHidden: [4], dropout: 0, likelihood, dirichletAlpha: 0.8, yEpsilon: 0.01, learnedWPrior: false, classifyWithMean, centerByCondition: false, conditionSizes: [2] },
    7,
  );
}

function tinyBatch(labelled: boolean): Batch {
  return {
    x: tf.tensor2d([[0.2, 1.5, 0], [2, 0.1, 0.7], [0.5, 0.5, 3]]),
    c: tf.tensor2d([[1, 0], [0, 1], [1, 0]]),
    y: labelled ? tf.tensor2d([[1, 0], [0, 0], [0, 1]]) : null,
    labelled: labelled ? tf.tensor1d([1, 0, 1]) : null,
    libSize: tf.tensor1d([10, 20, 5]),
    encoderShift: null,
  };
}

const rows = (t: tf.Tensor) => t.arraySync() as number[][];

/** Recompute the five terms in double precision from the module's own network outputs. */
function handTerms(module: CgmvaeModule, batch: Batch, ctx: ForwardContext, labels: number[] | null) {
  const { nClusters: k, dirichletAlpha: alpha, yEpsilon: eps } = module.config;
  return tf.tidy(() => {
    const enc = module.encode(batch, ctx);
    const z = reparameterise(enc.muZ, enc.logvarZ, ctx.seed);
    const w = reparameterise(enc.muW, enc.logvarW, (ctx.seed ^ 0x9e3779b9) >>> 0);
    const raw = rows(module.decodeRaw(z, batch.c, ctx));
    const prior = module.componentPriors(w, batch.c, ctx);
    const pmu = prior.mu.arraySync();
    const plv = prior.logvar.arraySync();
    const zy = module.config.classifyWithMean ? enc.muZ : z;
    const logits = rows(module.clusterLogits(zy, batch.c, ctx));
    const alphaQ = rows(module.dirichletConcentration(zy, batch.c, ctx));
    const [mz, lz, mw, lw] = [rows(enc.muZ), rows(enc.logvarZ), rows(enc.muW), rows(enc.logvarW)];
    const x = rows(batch.x);
    const psi = (v: number) => { const h = 1e-5; return (lgammaNumber(v + h) - lgammaNumber(v - h)) / (2 * h); };
    return x.map((xi, i) => {
      const rec = xi.reduce((s, v, j) => s + (v - raw[i][j]) ** 2, 0);
      const klk = Array.from({ length: k }, (_, c) =>
        mz[i].reduce((s, m, d) => s + 0.5 * (plv[i][c][d] - lz[i][d] + (Math.exp(lz[i][d]) + (m - pmu[i][c][d]) ** 2) / Math.exp(plv[i][c][d]) - 1), 0));
      const wTerm = mw[i].reduce((s, m, d) => s + 0.5 * (Math.exp(lw[i][d]) + m * m - 1 - lw[i][d]), 0);
      const mx = Math.max(...logits[i]);
      const ex = logits[i].map((l) => Math.exp(l - mx));
      const q = ex.map((e) => (1 - eps) * (e / ex.reduce((a, b) => a + b, 0)) + eps / k);
      const a0 = alphaQ[i].reduce((a, b) => a + b, 0);
      const elog = alphaQ[i].map((a) => psi(a) - psi(a0));
      const label = labels ? labels[i] : -1;
      const weights = label >= 0 ? q.map((_, c) => (c === label ? 1 : 0)) : q;
      const zTerm = weights.reduce((s, wk, c) => s + wk * klk[c], 0);
      const yTerm = (label >= 0 ? -Math.log(q[label]) : q.reduce((s, qk) => s + qk * Math.log(qk), 0)) - weights.reduce((s, wk, c) => s + wk * elog[c], 0);
      const dTerm = lgammaNumber(a0) - alphaQ[i].reduce((s, a) => s + lgammaNumber(a), 0) - lgammaNumber(k * alpha) + k * lgammaNumber(alpha) + alphaQ[i].reduce((s, a, c) => s + (a - alpha) * elog[c], 0);
      return { reconstruction: rec, z: zTerm, w: wTerm, y: yTerm, d: dTerm };
    });
  });
}

for (const [labelled, withMean] of [[false, false], [true, false], [false, true]]) {
  test(`module loss terms match a hand computation (${labelled ? 'semi-supervised batch' : 'unsupervised'}, q(y) from ${withMean ? 'μ_z' : 'a z sample'})`, () => {
    const module = tinyModule('mse', withMean);
    const batch = tinyBatch(labelled);
    const ctx: ForwardContext = { training: false, seed: 123, bnUpdates: [] };
    const want = handTerms(module, batch, ctx, labelled ? [0, -1, 1] : null);
    const got = tf.tidy(() => {
      const terms = module.lossTerms(batch, ctx);
      return Object.fromEntries(TERM_NAMES.map((n) => [n, Array.from(terms[n].dataSync())]));
    });
    for (const name of ['reconstruction', 'z', 'w', 'y', 'd'] as const) want.forEach((row, i) => close(got[name][i], row[name], 2e-4, `${name}[${i}]`));
    module.dispose();
  });
}

test('reconstruction likelihoods by hand (gaussian, bernoulli, nb)', () => {
  const x = [[0, 1, 2]];
  const raw = [[0.5, -1, 2.5]];
  const g = tinyModule('gaussian');
  const logSigma = softClip(0, -4, 2); // feature_scale starts at 0
  const wantG = x[0].reduce((s, v, j) => s + 0.5 * ((v - raw[0][j]) / Math.exp(logSigma)) ** 2 + logSigma + 0.5 * Math.log(2 * Math.PI), 0);
  close(scalarOf(() => g.reconstructionLoss(tf.tensor2d(x), tf.tensor2d(raw), null)), wantG, 1e-5, 'gaussian');
  const b = tinyModule('bernoulli');
  const xb = [[0, 1, 1]];
  const wantB = xb[0].reduce((s, v, j) => s + softplus(raw[0][j]) - v * raw[0][j], 0);
  close(scalarOf(() => b.reconstructionLoss(tf.tensor2d(xb), tf.tensor2d(raw), null)), wantB, 1e-5, 'bernoulli');
  const nb = tinyModule('nb');
  const lib = 12;
  const ex = raw[0].map(Math.exp);
  const mu = ex.map((e) => (lib * e) / ex.reduce((a, c) => a + c, 0));
  const theta = 1; // exp(feature_scale = 0)
  const wantNb = -x[0].reduce((s, v, j) => s + lgammaNumber(v + theta) - lgammaNumber(theta) - lgammaNumber(v + 1) + theta * Math.log(theta / (theta + mu[j])) + v * Math.log(mu[j] / (theta + mu[j])), 0);
  close(scalarOf(() => nb.reconstructionLoss(tf.tensor2d(x), tf.tensor2d(raw), tf.tensor1d([lib]))), wantNb, 1e-4, 'nb');
  for (const m of [g, b, nb]) m.dispose();
});

test('the reparameterisation noise is fixed by its seed, seed 0 included (tfjs takes a Gaussian seed of 0 for none)', () => {
  const [mu, lv] = [tf.zeros([4, 3]) as tf.Tensor2D, tf.zeros([4, 3]) as tf.Tensor2D];
  for (const seed of [0, 1, 0xffffffff]) {
    const a = reparameterise(mu, lv, seed);
    const b = reparameterise(mu, lv, seed);
    assert.deepEqual(a.arraySync(), b.arraySync(), `seed ${seed}`);
    tf.dispose([a, b]);
  }
  tf.dispose([mu, lv]);
});
