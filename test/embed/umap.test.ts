import { test } from 'node:test';
import assert from 'node:assert/strict';
import { knn } from '../../src/neighbors/knn.js';
import { BLOCKS_ABOVE, fitCurveParams, umap } from '../../src/embed/umap.js';
import { gaussianMixture } from '../fixtures/points/mixture.js';

test('fitCurveParams matches umap-learn find_ab_params (scipy curve_fit)', () => {
  // Reference values from scipy.optimize.curve_fit on umap-learn's curve and target.
  for (const [minDist, spread, a, b] of [[0.5, 1, 0.58303002, 1.33416699], [0.1, 1, 1.57694346, 0.89506088], [1, 2, 0.09171551, 1.33416656]]) {
    const fitted = fitCurveParams(minDist, spread);
    assert.ok(Math.abs(fitted.a - a) < 1e-4 * a, `a for min_dist ${minDist}: ${fitted.a}`);
    assert.ok(Math.abs(fitted.b - b) < 1e-4 * b, `b for min_dist ${minDist}: ${fitted.b}`);
  }
});

const mixture = gaussianMixture(600, 16, 3, 11);

test('umap is reproducible for a seed, finite, and keeps clusters apart', async () => {
  const first = await umap(mixture.points, { seed: 7, nEpochs: 200 });
  const second = await umap(mixture.points, { seed: 7, nEpochs: 200 });
  const other = await umap(mixture.points, { seed: 8, nEpochs: 200 });
  assert.equal(first.nRows, 600);
  assert.equal(first.nCols, 2);
  assert.deepEqual(first.data, second.data);
  assert.notDeepEqual(first.data, other.data);
  assert.ok(first.data.every(Number.isFinite));
  // Each cell's 10 nearest neighbours in the embedding share its cluster.
  const neighbours = knn(first, 10);
  let same = 0;
  for (let i = 0; i < 600; i++) for (let m = 0; m < 10; m++) if (mixture.labels[neighbours.indices[i * 10 + m]] === mixture.labels[i]) same++;
  assert.ok(same / 6000 > 0.98, `cluster purity ${same / 6000}`);
});

test('umap accepts a precomputed kNN and gives the same result as computing it', async () => {
  const precomputed = knn(mixture.points, 20);
  const withKnn = await umap(mixture.points, { seed: 3, nEpochs: 50, knn: precomputed });
  const without = await umap(mixture.points, { seed: 3, nEpochs: 50 });
  assert.deepEqual(withKnn.data, without.data);
  await assert.rejects(umap(mixture.points, { knn: knn(mixture.points, 5) }), /precomputed kNN/);
});

test('umap handles tiny inputs and identical points', async () => {
  assert.equal((await umap({ nRows: 0, nCols: 3, data: new Float32Array(0) })).data.length, 0);
  assert.deepEqual(Array.from((await umap({ nRows: 1, nCols: 3, data: new Float32Array(3) })).data), [0, 0]);
  const five = await umap({ nRows: 5, nCols: 2, data: Float32Array.from({ length: 10 }, (_, i) => i % 7) }, { seed: 1 });
  assert.equal(five.data.length, 10);
  assert.ok(five.data.every(Number.isFinite));
  const identical = await umap({ nRows: 50, nCols: 4, data: new Float32Array(200).fill(2.5) }, { seed: 1, nEpochs: 50 });
  assert.ok(identical.data.every(Number.isFinite));
  await assert.rejects(umap({ nRows: 2, nCols: 1, data: new Float32Array([0, Infinity]) }), /non-finite value at row 1/);
});

test('umap reports progress and stops on abort', async () => {
  const controller = new AbortController();
  const fractions: number[] = [];
  await assert.rejects(
    umap(mixture.points, { nEpochs: 100, signal: controller.signal, onProgress: (f) => { fractions.push(f); if (f >= 0.5) controller.abort(); } }),
    { name: 'AbortError' },
  );
  assert.ok(fractions.length > 1 && fractions.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= fractions[i - 1])));
  assert.ok(fractions.at(-1)! < 0.6);
});

test('above BLOCKS_ABOVE cells the blocked layout gives the same coordinates on one thread and on two, and keeps clusters apart', async () => {
  const large = gaussianMixture(BLOCKS_ABOVE + 500, 8, 4, 13);
  const neighbours = knn(large.points, 14, { method: 'exact' });
  const one = await umap(large.points, { seed: 4, nEpochs: 30, knn: neighbours, threads: 1 });
  const two = await umap(large.points, { seed: 4, nEpochs: 30, knn: neighbours, threads: 2 });
  assert.deepEqual(one.data, two.data);
  const embedded = knn(one, 10, { method: 'exact' });
  let same = 0;
  for (let i = 0; i < one.nRows; i++) for (let m = 0; m < 10; m++) if (large.labels[embedded.indices[i * 10 + m]] === large.labels[i]) same++;
  assert.ok(same / (one.nRows * 10) > 0.98, `cluster purity ${same / (one.nRows * 10)}`);
});
