import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { pickBackend } from '../../src/model/backend.js';
import { digamma, lgamma, lgammaNumber } from '../../src/model/special.js';

await pickBackend({ force: 'wasm', log: () => {} });

const EULER = 0.5772156649015329;
// Reference values (Abramowitz & Stegun; ψ(1) = −γ, ψ(1/2) = −γ − 2 ln 2, Γ(1/2) = √π).
const LGAMMA: [number, number][] = [
  [0.5, 0.5 * Math.log(Math.PI)],
  [1, 0],
  [2, 0],
  [3, Math.log(2)],
  [4.5, Math.log(11.631728396567448)],
  [10, Math.log(362880)],
  [0.1, 2.252712651734206],
  [30, 71.257038967168],
];
const DIGAMMA: [number, number][] = [
  [1, -EULER],
  [0.5, -EULER - 2 * Math.log(2)],
  [2, 1 - EULER],
  [3, 1.5 - EULER],
  [0.1, -10.423754940411076],
  [10, 2.251752589066721],
];

const values = (f: (x: tf.Tensor) => tf.Tensor, xs: number[]) => tf.tidy(() => Array.from(f(tf.tensor1d(xs)).dataSync()));

test('lgamma matches known values', () => {
  const got = values(lgamma, LGAMMA.map(([x]) => x));
  LGAMMA.forEach(([x, want], i) => assert.ok(Math.abs(got[i] - want) < 2e-5 * Math.max(1, Math.abs(want)), `lgamma(${x}) = ${got[i]}, want ${want}`));
});

test('lgammaNumber (double precision) matches known values', () => {
  for (const [x, want] of LGAMMA) assert.ok(Math.abs(lgammaNumber(x) - want) < 1e-10 * Math.max(1, Math.abs(want)), `lgammaNumber(${x})`);
});

test('digamma matches known values', () => {
  const got = values(digamma, DIGAMMA.map(([x]) => x));
  DIGAMMA.forEach(([x, want], i) => assert.ok(Math.abs(got[i] - want) < 5e-5 * Math.max(1, Math.abs(want)), `digamma(${x}) = ${got[i]}, want ${want}`));
});

test('gradients: d lgamma = digamma, d digamma = finite difference (trigamma)', () => {
  const xs = [0.3, 1, 2.5, 7, 40];
  const dl = tf.tidy(() => Array.from(tf.grad((x: tf.Tensor) => tf.sum(lgamma(x)))(tf.tensor1d(xs)).dataSync()));
  const psi = values(digamma, xs);
  xs.forEach((x, i) => assert.ok(Math.abs(dl[i] - psi[i]) < 1e-4 * Math.max(1, Math.abs(psi[i])), `d lgamma(${x})`));
  const dpsi = tf.tidy(() => Array.from(tf.grad((x: tf.Tensor) => tf.sum(digamma(x)))(tf.tensor1d(xs)).dataSync()));
  // Central differences in double precision of the lgamma series: trigamma ≈ (lnΓ(x+h) − 2lnΓ(x) + lnΓ(x−h)) / h².
  xs.forEach((x, i) => {
    const h = 1e-3 * x;
    const fd = (lgammaNumber(x + h) - 2 * lgammaNumber(x) + lgammaNumber(x - h)) / (h * h);
    assert.ok(Math.abs(dpsi[i] - fd) < 2e-3 * Math.max(1, fd), `trigamma(${x}): ${dpsi[i]} vs ${fd}`);
  });
});
