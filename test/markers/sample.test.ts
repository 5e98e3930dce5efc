import assert from 'node:assert/strict';
import { test } from 'node:test';
import { markerSample } from '../../src/markers/sample.js';

test('the marker sample: every cell up to the cap; above, a seeded sample in row order where each group keeps its minimum', () => {
  const labels = Int32Array.from({ length: 10_000 }, (_, i) => (i % 1000 === 0 ? 2 : i % 3 === 0 ? -1 : i % 2));
  assert.equal(markerSample(labels, 0, 10_000), null, 'a dataset within the cap is tested whole');
  const rows = markerSample(labels, 0, 1000, 8)!;
  assert.ok(rows.every((row, i) => i === 0 || row > rows[i - 1]!), 'ascending rows');
  const groupCount = (group: number) => Array.from(rows).filter((row) => labels[row] === group).length;
  assert.equal(groupCount(2), 8, 'the rare group (10 cells; the cap alone gives it ~1) tops up to the minimum of 8');
  assert.equal(Array.from(markerSample(labels, 0, 1000, 50)!).filter((row) => labels[row] === 2).length, 10, 'a group below the minimum keeps every cell');
  assert.ok(rows.length >= 1000 && rows.length <= 1010, `${rows.length} rows: the cap plus the top-up`);
  assert.ok(Math.abs(groupCount(0) - groupCount(1)) < 100, 'the large groups keep their shares');
  assert.deepEqual(markerSample(labels, 0, 1000, 8), rows, 'the same sample for the same seed');
  assert.notDeepEqual(markerSample(labels, 1, 1000, 8), rows);
});
