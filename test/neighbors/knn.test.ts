import { test } from 'node:test';
import assert from 'node:assert/strict';
import { knn, knnOnThreads } from '../../src/neighbors/knn.js';
import type { DenseMatrix } from '../../src/io/types.js';
import { gaussianMixture } from '../fixtures/points/mixture.js';

/** Every pairwise distance, sorted per row by (distance, index): the reference the tree search must equal. */
function bruteForce(points: DenseMatrix, k: number): { indices: Int32Array; distances: Float64Array } {
  const { nRows: n, nCols: d, data } = points;
  const indices = new Int32Array(n * k);
  const distances = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const candidates: Array<[number, number]> = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let s = 0;
      for (let c = 0; c < d; c++) s += (data[i * d + c] - data[j * d + c]) ** 2;
      candidates.push([Math.sqrt(s), j]);
    }
    candidates.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (let m = 0; m < k; m++) [distances[i * k + m], indices[i * k + m]] = candidates[m];
  }
  return { indices, distances };
}

test('knn equals brute force on a clustered mixture spanning many leaves', () => {
  const { points } = gaussianMixture(1500, 16, 6, 3, 4);
  const k = 14;
  const result = knn(points, k);
  const reference = bruteForce(points, k);
  assert.equal(result.k, k);
  for (let i = 0; i < reference.distances.length; i++) {
    assert.ok(Math.abs(result.distances[i] - reference.distances[i]) < 1e-4, `distance ${i}`);
  }
  // Indices may only differ where distances tie.
  let sameIndex = 0;
  for (let i = 0; i < reference.indices.length; i++) if (result.indices[i] === reference.indices[i]) sameIndex++;
  assert.ok(sameIndex / reference.indices.length > 0.999);
});

test('knn excludes the row itself but keeps its duplicates at distance 0, ascending', () => {
  const data = new Float32Array([0, 0, 0, 0, 1, 0, 3, 0, 0, 2]);
  const result = knn({ nRows: 5, nCols: 2, data }, 3);
  assert.deepEqual(Array.from(result.indices.subarray(0, 3)), [1, 2, 4]);
  assert.deepEqual(Array.from(result.distances.subarray(0, 3)), [0, 1, 2]);
  for (let i = 0; i < 5; i++) {
    const row = Array.from(result.indices.subarray(i * 3, i * 3 + 3));
    assert.ok(!row.includes(i));
    const dist = Array.from(result.distances.subarray(i * 3, i * 3 + 3));
    assert.deepEqual(dist, [...dist].sort((a, b) => a - b));
  }
});

test('knn rejects k out of range and non-finite values', () => {
  const points = { nRows: 3, nCols: 1, data: new Float32Array([0, 1, 2]) };
  assert.throws(() => knn(points, 3), RangeError);
  assert.throws(() => knn(points, 0), RangeError);
  assert.throws(() => knn({ nRows: 3, nCols: 1, data: new Float32Array([0, NaN, 2]) }, 1), /non-finite value at row 1/);
});

test('knn stops when its signal is aborted from the progress callback', () => {
  const { points } = gaussianMixture(2000, 8, 3, 1);
  const controller = new AbortController();
  assert.throws(
    () => knn(points, 5, { signal: controller.signal, onProgress: (f) => { if (f > 0.3) controller.abort(); } }),
    { name: 'AbortError' },
  );
});

/** Share of the exact neighbours that `found` lists (each row's set against the exact row's set). */
function recall(found: Int32Array, exact: Int32Array, k: number): number {
  let hits = 0;
  for (let i = 0; i < exact.length / k; i++) {
    const row = new Set(exact.subarray(i * k, i * k + k));
    for (let m = 0; m < k; m++) if (row.has(found[i * k + m])) hits++;
  }
  return hits / exact.length;
}

test('NN-descent finds >= 95 % of the exact neighbours, the same ones for a seed, never the row itself', () => {
  const { points } = gaussianMixture(4000, 16, 8, 5);
  const k = 14;
  const exact = knn(points, k, { method: 'exact' });
  const approximate = knn(points, k, { method: 'nndescent', seed: 2 });
  const r = recall(approximate.indices, exact.indices, k);
  assert.ok(r >= 0.95, `recall ${r}`);
  assert.deepEqual(knn(points, k, { method: 'nndescent', seed: 2 }), approximate);
  for (let i = 0; i < 4000; i++) {
    const row = Array.from(approximate.indices.subarray(i * k, i * k + k));
    assert.ok(!row.includes(i) && new Set(row).size === k, `row ${i}`);
    const dist = Array.from(approximate.distances.subarray(i * k, i * k + k));
    assert.deepEqual(dist, [...dist].sort((a, b) => a - b));
  }
});

test('NN-descent with its trees on threads gives the graph it gives on one', async () => {
  const { points } = gaussianMixture(3000, 16, 8, 7);
  const one = knn(points, 14, { method: 'nndescent', seed: 3 });
  for (const threads of [1, 2, 3]) assert.deepEqual(await knnOnThreads(points, 14, threads, { method: 'nndescent', seed: 3 }), one, `${threads} threads`);
  assert.deepEqual(await knnOnThreads(points, 14, 2, { method: 'exact' }), knn(points, 14, { method: 'exact' }), 'the exact search ignores threads');
});

test('NN-descent handles duplicates and tiny inputs', () => {
  const data = new Float32Array([0, 0, 0, 0, 1, 0, 3, 0, 0, 2]);
  const result = knn({ nRows: 5, nCols: 2, data }, 3, { method: 'nndescent' });
  assert.deepEqual(Array.from(result.indices.subarray(0, 3)), [1, 2, 4]);
  assert.deepEqual(Array.from(result.distances.subarray(0, 3)), [0, 1, 2]);
  const identical = knn({ nRows: 40, nCols: 3, data: new Float32Array(120).fill(1) }, 5, { method: 'nndescent' });
  assert.ok(identical.distances.every((v) => v === 0));
});
