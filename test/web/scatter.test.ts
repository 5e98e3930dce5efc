/** The scatter plot's geometry and lookups: view transforms, the grid behind hover and lasso, the panels' tables. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../../src/random.js';
import { boundsOf, fitView, panBy, toData, toScreen, zoomAt } from '../../src/web/results/camera.js';
import { viridisRamp, valueRange } from '../../src/web/results/colors.js';
import { PointGrid, pointInPolygon } from '../../src/web/results/point-index.js';
import { histogram, markerRows, matchGenes, trainingCurves } from '../../src/web/results/tables.js';

function randomPoints(n: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  // Two blobs and a scatter, like a UMAP.
  return Float32Array.from({ length: 2 * n }, (_, i) => (i < n ? random() * 2 : 5 + random() * 10) * (i % 2 ? 1 : -1));
}

test('the fitted view shows every point inside the canvas; screen and data coordinates invert each other', () => {
  const coords = randomPoints(500, 1);
  const size = { width: 800, height: 500 };
  const view = fitView(boundsOf(coords), size);
  for (let i = 0; i < 500; i++) {
    const [sx, sy] = toScreen(view, size, coords[2 * i]!, coords[2 * i + 1]!);
    assert.ok(sx >= 0 && sx <= 800 && sy >= 0 && sy <= 500, `point ${i} at ${sx}, ${sy}`);
    const [x, y] = toData(view, size, sx, sy);
    assert.ok(Math.abs(x - coords[2 * i]!) < 1e-4 && Math.abs(y - coords[2 * i + 1]!) < 1e-4);
  }
  const [top] = [toScreen(view, size, 0, boundsOf(coords).maxY)[1]];
  assert.ok(top < 250, 'data y points up the screen');
});

test('zooming keeps the point under the pointer in place; panning moves everything by the drag', () => {
  const size = { width: 640, height: 480 };
  const view = { centerX: 1, centerY: -2, scale: 30 };
  const before = toData(view, size, 100, 400);
  const zoomed = zoomAt(view, size, 100, 400, 2.5);
  assert.equal(zoomed.scale, 75);
  const after = toData(zoomed, size, 100, 400);
  assert.ok(Math.abs(before[0] - after[0]) < 1e-9 && Math.abs(before[1] - after[1]) < 1e-9);
  const moved = panBy(view, 30, -60);
  const [sx, sy] = toScreen(moved, size, 1, -2);
  assert.deepEqual([sx, sy], [320 + 30, 240 - 60]);
});

test('the grid finds the nearest accepted point within the radius, as a full scan does', () => {
  const coords = randomPoints(2000, 2);
  const grid = new PointGrid(coords, boundsOf(coords));
  const random = mulberry32(3);
  const odd = (i: number) => i % 2 === 1;
  for (let trial = 0; trial < 300; trial++) {
    const [x, y, radius] = [(random() - 0.5) * 30, (random() - 0.5) * 30, random() * 1.5];
    let best = -1;
    let bestDistance = radius * radius;
    for (let i = 0; i < 2000; i++) {
      const d = (coords[2 * i]! - x) ** 2 + (coords[2 * i + 1]! - y) ** 2;
      if (d <= bestDistance && odd(i)) [best, bestDistance] = [i, d];
    }
    assert.equal(grid.nearest(x, y, radius, odd), best, `trial ${trial}`);
  }
});

test('the lasso selects the accepted points inside the polygon, as a full scan does', () => {
  const coords = randomPoints(3000, 4);
  const grid = new PointGrid(coords, boundsOf(coords));
  const star = Array.from({ length: 10 }, (_, k) => {
    const radius = k % 2 ? 4 : 12;
    const angle = (k / 10) * 2 * Math.PI;
    return [radius * Math.cos(angle), radius * Math.sin(angle)];
  }).flat();
  const accept = (i: number) => i % 3 !== 0;
  const { mask, count } = grid.insidePolygon(star, accept);
  let expected = 0;
  for (let i = 0; i < 3000; i++) {
    const inside = pointInPolygon(coords[2 * i]!, coords[2 * i + 1]!, star) && accept(i);
    assert.equal(mask[i], inside ? 1 : 0, `point ${i}`);
    if (inside) expected++;
  }
  assert.equal(count, expected);
  assert.ok(expected > 100 && expected < 2000, `a real selection: ${expected}`);
  assert.equal(pointInPolygon(0.5, 0.5, [0, 0, 1, 0, 1, 1, 0, 1]), true);
  assert.equal(pointInPolygon(1.5, 0.5, [0, 0, 1, 0, 1, 1, 0, 1]), false);
});

test('colour ramp and ranges: viridis from dark purple to yellow; a flat range still maps', () => {
  const ramp = viridisRamp(256);
  assert.deepEqual(Array.from(ramp.subarray(0, 4)), [0x44, 0x01, 0x54, 255]);
  assert.deepEqual(Array.from(ramp.subarray(255 * 4, 256 * 4)), [0xfd, 0xe7, 0x25, 255]);
  assert.deepEqual(valueRange(Float32Array.from([NaN, 2, -1, 5])), [-1, 5]);
  assert.deepEqual(valueRange(Float32Array.from([3, 3])), [3, 4]);
});

test('the panels read markers.csv and training.csv, bin histograms and match gene names', () => {
  const rows = markerRows([{ cluster: '0', rank: '1', gene: 'CD3E', score: '12.5', logfoldchange: '3', pval: '1e-20', pval_adj: '', pct_in: '0.9', pct_out: '0.1' }]);
  assert.deepEqual(rows, [{ cluster: '0', rank: 1, gene: 'CD3E', score: 12.5, logfoldchange: 3, pval: 1e-20, pval_adj: NaN, pct_in: 0.9, pct_out: 0.1 }]);
  const curves = trainingCurves([
    { epoch: '0', learning_rate: '0.001', train_total: '10', validation_total: '', train_z: '2', seconds: '1' },
    { epoch: '1', learning_rate: '0.001', train_total: '8', validation_total: '', train_z: '1.5', seconds: '1' },
  ]);
  assert.deepEqual(curves, { epochs: [1, 2], series: [{ name: 'train_total', values: [10, 8] }, { name: 'train_z', values: [2, 1.5] }] });
  const { edges, counts } = histogram(Float32Array.from([0, 1, 2, 3, 4, NaN]), 4);
  assert.deepEqual(edges, [0, 1, 2, 3]);
  assert.deepEqual(counts, [1, 1, 1, 2]);
  assert.deepEqual(matchGenes(['ACTB', 'CD3E', 'CD3D', 'NCD3', 'cd4'], 'cd'), ['CD3E', 'CD3D', 'cd4', 'NCD3']);
  assert.deepEqual(matchGenes(['A'], '  '), []);
});
