import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PreprocessError, scale } from '../../src/preprocess/index.js';
import { csrFromRows } from './helpers.js';

const matrix = csrFromRows([
  [1, 0, 4, 0],
  [0, 0, 2, 0],
  [3, 0, 0, 9],
  [0, 0, 2, 0],
]);

test('scale zero-centres each gene and divides by its sd (n - 1); constant genes are only centred', () => {
  const { matrix: out, mean, std } = scale(matrix);
  assert.equal(out.nCols, 4);
  for (let g = 0; g < 4; g++) {
    const column = Array.from({ length: 4 }, (_, r) => out.data[r * 4 + g]!);
    const m = column.reduce((s, v) => s + v, 0) / 4;
    assert.ok(Math.abs(m) < 1e-6, `gene ${g} mean ${m}`);
    const variance = column.reduce((s, v) => s + (v - m) ** 2, 0) / 3;
    assert.ok(Math.abs(variance - (g === 1 ? 0 : 1)) < 1e-6, `gene ${g} variance ${variance}`);
  }
  assert.deepEqual(Array.from(mean), [1, 0, 2, 2.25]);
  assert.equal(std[1], 1);
});

test('scale keeps only the given genes and clips at ±max_value', () => {
  const { matrix: out } = scale(matrix, { genes: Int32Array.from([0, 3]), maxValue: 1 });
  assert.equal(out.nCols, 2);
  assert.equal(out.data[2 * 2 + 1], 1, 'gene 3 in cell 2 is 1.5 sd above its mean: clipped to 1');
  assert.ok(Array.from(out.data).every((v) => v >= -1 && v <= 1));
  assert.throws(() => scale(matrix, { maxValue: 0 }), PreprocessError);
});
