import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kMeans } from '../../src/cluster/kmeans.js';
import { adjustedRandIndex } from '../../src/metrics/index.js';
import { Rng } from '../../src/random.js';

test('k-means by hand: two pairs of points', () => {
  const x = Float32Array.from([0, 0, 0, 2, 10, 10, 10, 12]);
  const fit = kMeans(x, 2, 2, { seed: 3 });
  assert.equal(fit.labels[0], fit.labels[1]);
  assert.equal(fit.labels[2], fit.labels[3]);
  assert.notEqual(fit.labels[0], fit.labels[2]);
  const a = fit.labels[0]!;
  assert.deepEqual(Array.from(fit.centroids.subarray(2 * a, 2 * a + 2)), [0, 1]);
  // each point lies 1 from its centroid: inertia 4 × 1.
  assert.equal(fit.inertia, 4);
});

test('k-means recovers separated Gaussian clusters and is deterministic by seed', () => {
  const rng = new Rng(1);
  const [k, d, per] = [4, 5, 60];
  const truth: number[] = [];
  const x = new Float32Array(k * per * d);
  for (let i = 0; i < k * per; i++) {
    const c = i % k;
    truth.push(c);
    for (let j = 0; j < d; j++) x[i * d + j] = 8 * ((c >> (j % 2)) & 1) + 4 * c * (j === 4 ? 1 : 0) + rng.normal();
  }
  const a = kMeans(x, d, k, { seed: 7 });
  assert.equal(adjustedRandIndex(truth, Array.from(a.labels)), 1);
  assert.deepEqual(kMeans(x, d, k, { seed: 7 }).labels, a.labels);
});

test('k-means rejects fewer rows than clusters', () => {
  assert.throws(() => kMeans(new Float32Array(4), 2, 3), /at least k = 3 rows/);
});
