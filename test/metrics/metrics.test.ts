import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adjustedRandIndex, clusterPurity, contingency, hungarianAccuracy, minCostAssignment, normalizedMutualInfo } from '../../src/metrics/index.js';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) < tol, `${a} != ${b}`);

// truth: 3 classes of 2; pred merges classes 1 and 2 and relabels.
const truth = [0, 0, 1, 1, 2, 2];
const merged = [5, 5, 7, 7, 7, 7];

test('perfect agreement up to relabelling', () => {
  const relabelled = [2, 2, 0, 0, 1, 1];
  close(adjustedRandIndex(truth, relabelled), 1);
  close(normalizedMutualInfo(truth, relabelled), 1);
  close(hungarianAccuracy(truth, relabelled), 1);
  close(clusterPurity(truth, relabelled), 1);
});

test('ARI by hand: merged clusters', () => {
  // pairs: Σ C(nij,2) = 1+1+1 = 3; rows Σ C(2,2)x3 = 3; cols C(2,2)+C(4,2) = 7; C(6,2) = 15.
  // expected = 3*7/15 = 1.4; max = 5; ARI = (3 − 1.4) / (5 − 1.4) = 0.4444…
  close(adjustedRandIndex(truth, merged), 1.6 / 3.6);
});

test('NMI by hand: merged clusters', () => {
  // H(truth) = ln 3; H(pred) = −(1/3 ln 1/3 + 2/3 ln 2/3); MI = H(pred) since pred is a function of truth.
  const hp = -(1 / 3) * Math.log(1 / 3) - (2 / 3) * Math.log(2 / 3);
  close(normalizedMutualInfo(truth, merged), hp / ((Math.log(3) + hp) / 2));
  close(normalizedMutualInfo([0, 0, 1, 1], [0, 1, 0, 1]), 0);
});

test('purity and Hungarian accuracy by hand', () => {
  // purity: cluster 5 → class 0 (2), cluster 7 → majority 2 of 4 → (2 + 2) / 6.
  close(clusterPurity(truth, merged), 4 / 6);
  // Hungarian: one cluster per class: 2 + 2 = 4 of 6.
  close(hungarianAccuracy(truth, merged), 4 / 6);
  // more clusters than classes: purity 1, accuracy only for matched clusters.
  close(clusterPurity([0, 0, 1, 1], [0, 1, 2, 3]), 1);
  close(hungarianAccuracy([0, 0, 1, 1], [0, 1, 2, 3]), 0.5);
});

test('negative codes are skipped', () => {
  const { n } = contingency([0, -1, 1], [0, 0, -1]);
  assert.equal(n, 1);
  close(adjustedRandIndex([0, 0, 1, 1, -1], [1, 1, 0, 0, 0]), 1);
});

test('Hungarian assignment finds the minimum', () => {
  const cost = [
    [4, 1, 3],
    [2, 0, 5],
    [3, 2, 2],
  ];
  const a = minCostAssignment(cost);
  assert.deepEqual(a, [1, 0, 2]);
});
