import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conditionMixing, labelConservation, lisi, silhouette } from '../../src/metrics/integration.js';
import type { DenseMatrix } from '../../src/io/types.js';
import { Rng } from '../../src/random.js';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

/** `perGroup` points around each of `centres` (1-d spread `spread`), in 2 dimensions. */
function groups(centres: [number, number][], perGroup: number, spread: number, seed: number): DenseMatrix {
  const rng = new Rng(seed);
  const data = new Float32Array(centres.length * perGroup * 2);
  centres.forEach(([x, y], g) => {
    for (let i = 0; i < perGroup; i++) {
      data[(g * perGroup + i) * 2] = x + spread * rng.normal();
      data[(g * perGroup + i) * 2 + 1] = y + spread * rng.normal();
    }
  });
  return { nRows: centres.length * perGroup, nCols: 2, data };
}

test('LISI is 1 where each neighbourhood holds one category and about the number of categories where they mix evenly', () => {
  const apart = groups([[0, 0], [100, 0], [0, 100]], 100, 1, 1);
  const byGroup = Int32Array.from({ length: 300 }, (_, i) => Math.floor(i / 100));
  for (const v of lisi(apart, byGroup)) close(v, 1, 1e-9, 'separated');
  const alternating = Int32Array.from({ length: 300 }, (_, i) => i % 3);
  const mixed = lisi(apart, alternating);
  const mean = mixed.reduce((a, b) => a + b, 0) / mixed.length;
  assert.ok(mean > 2.6 && mean <= 3, `evenly mixed: mean LISI ${mean}`);
  const unknown = Int32Array.from(byGroup, (c, i) => (i === 5 ? -1 : c));
  assert.ok(Number.isNaN(lisi(apart, unknown)[5]!), 'a cell without a category gets no score');
  const mixing = conditionMixing(apart, alternating);
  assert.equal(mixing.categories, 3);
  close(mixing.ilisi_scaled, (mixing.ilisi - 1) / 2, 1e-12, 'scaled');
  assert.ok(conditionMixing(apart, byGroup).ilisi_scaled < 1e-9);
});

test('the silhouette by hand on four points, and its scaled, sampled use', () => {
  // Points 0, 1 (A) and 10, 11 (B) on a line: a = 1 for all; b = 10.5, 9.5, 9.5, 10.5.
  const line: DenseMatrix = { nRows: 4, nCols: 1, data: Float32Array.from([0, 1, 10, 11]) };
  const expected = [(10.5 - 1) / 10.5, (9.5 - 1) / 9.5, (9.5 - 1) / 9.5, (10.5 - 1) / 10.5].reduce((a, b) => a + b, 0) / 4;
  close(silhouette(line, Int32Array.from([0, 0, 1, 1])), expected, 1e-12, 'hand');
  assert.ok(Number.isNaN(silhouette(line, Int32Array.from([0, 0, 0, 0]))), 'one category has no silhouette');
  const apart = groups([[0, 0], [50, 0]], 50, 1, 2);
  const labels = Int32Array.from({ length: 100 }, (_, i) => (i < 50 ? 0 : 1));
  const kept = labelConservation(apart, labels);
  assert.ok(kept.asw_label > 0.95 && kept.asw_label <= 1, `asw ${kept.asw_label}`);
  close(kept.clisi_scaled, 1, 1e-9, 'clisi of separated labels');
});
