import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { pickBackend } from '../../src/model/backend.js';
import { activeNativeBlas, loadNativeBlas, registerMatMulGradient } from '../../src/model/matmul.js';

const choice = await pickBackend({ force: 'wasm', log: () => {} });

/** C = op(A) op(B) for each batch item, broadcasting a batch of one, by the definition. */
function naiveMatMul(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): { values: Float64Array; shape: number[] } {
  const [av, bv] = [a.dataSync(), b.dataSync()];
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const [m, k, n] = [ta ? ac : ar, ta ? ar : ac, tb ? br : bc];
  const aBatch = av.length / (ar * ac);
  const bBatch = bv.length / (br * bc);
  const batches = Math.max(aBatch, bBatch);
  const values = new Float64Array(batches * m * n);
  for (let t = 0; t < batches; t++) {
    const ao = (aBatch === 1 ? 0 : t) * ar * ac;
    const bo = (bBatch === 1 ? 0 : t) * br * bc;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) sum += av[ao + (ta ? p * ac + i : i * ac + p)]! * bv[bo + (tb ? j * bc + p : p * bc + j)]!;
        values[t * m * n + i * n + j] = sum;
      }
  }
  const outer = (a.shape.length > b.shape.length ? a.shape : b.shape).slice(0, -2);
  return { values, shape: [...(outer.length ? [batches] : []), m, n] };
}

test('the wasm backend multiplies on OpenBLAS where it is installed, and says so', async (t) => {
  const blas = await loadNativeBlas().catch((err: Error) => err);
  if (blas instanceof Error) return t.skip(`no OpenBLAS here: ${blas.message}`);
  assert.ok(activeNativeBlas(), 'the picker registered the native product');
  assert.match(choice.note ?? '', /matrix products on OpenBLAS \(.+, \d+ threads\)/);
});

test('products equal their definition for every transpose flag and for batches broadcast over the leading axis', () => {
  const shapes: [number[], number[]][] = [
    [[7, 13], [13, 5]],
    [[3, 7, 13], [13, 5]],
    [[7, 13], [3, 13, 5]],
    [[3, 7, 13], [3, 13, 5]],
  ];
  let seed = 1;
  for (const [as, bs] of shapes)
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const swap = (s: number[], flag: boolean) => (flag ? [...s.slice(0, -2), s.at(-1)!, s.at(-2)!] : s);
      const a = tf.randomNormal(swap(as, ta), 0, 1, 'float32', seed++);
      const b = tf.randomNormal(swap(bs, tb), 0, 1, 'float32', seed++);
      const got = tf.matMul(a, b, ta, tb);
      const want = naiveMatMul(a, b, ta, tb);
      const label = `[${a.shape}] x [${b.shape}], transposeA=${ta}, transposeB=${tb}`;
      assert.deepEqual(got.shape, want.shape, label);
      const g = got.dataSync();
      for (let i = 0; i < g.length; i++) assert.ok(Math.abs(g[i]! - want.values[i]!) < 1e-4 * Math.max(1, Math.abs(want.values[i]!)), `${label} at ${i}`);
      tf.dispose([a, b, got]);
    }
});

test('the matMul gradient is right for every transpose flag, with flags passed on or operands transposed', () => {
  const a = tf.randomNormal([3, 4], 0, 1, 'float32', 1);
  const b = tf.randomNormal([4, 5], 0, 1, 'float32', 2);
  // By hand: d/dA Σ(AB)² = 2(AB)Bᵀ, d/dB = 2Aᵀ(AB); a transposed operand gets the transposed gradient.
  const ab = tf.matMul(a, b);
  const dA = tf.mul(2, tf.matMul(ab, b.transpose()));
  const dB = tf.mul(2, tf.matMul(a.transpose(), ab));
  const near = (got: tf.Tensor, want: tf.Tensor) => {
    const [g, w] = [got.dataSync(), want.dataSync()];
    return g.length === w.length && g.every((v, i) => Math.abs(v - w[i]!) < 1e-3 * Math.max(1, Math.abs(w[i]!)));
  };
  for (const flagsFree of [false, true]) {
    registerMatMulGradient(flagsFree);
    for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      const p = ta ? a.transpose() : a;
      const q = tb ? b.transpose() : b;
      const [gp, gq] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, ta, tb))))([p, q]);
      const where = `flags ${flagsFree ? 'passed on' : 'transposed'}, transposeA=${ta}, transposeB=${tb}`;
      assert.ok(near(gp!, ta ? dA.transpose() : dA), `dA, ${where}`);
      assert.ok(near(gq!, tb ? dB.transpose() : dB), `dB, ${where}`);
    }
  }
  registerMatMulGradient(activeNativeBlas() !== undefined);
});

test('a library that is not there is refused by name', async () => {
  await assert.rejects(loadNativeBlas({ library: '/nonexistent/libopenblas.so.0' }), /no OpenBLAS library could be opened \(\/nonexistent\/libopenblas\.so\.0: /);
});
