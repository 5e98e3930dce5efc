import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loessFit, PreprocessError } from '../../src/preprocess/index.js';
import { fixtures, maxRelativeError, readCsv } from './helpers.js';

// 400 points with tied x and R 4.2's loess(y ~ x, span = 0.3, degree = 2) fitted values (make-fixture.R)
const rows = readCsv(join(fixtures, 'loess_r.csv')).slice(1).map((r) => r.map(Number));
const x = Float64Array.from(rows, (r) => r[0]!);
const y = Float64Array.from(rows, (r) => r[1]!);

test('loess with the interpolation surface equals R loess (kd tree + vertex interpolation)', () => {
  const fitted = loessFit(x, y, { span: 0.3 });
  assert.ok(maxRelativeError(rows.map((r, i) => [fitted[i]!, r[2]!])) < 1e-12);
});

test('loess with the direct surface equals R loess(surface = "direct")', () => {
  const fitted = loessFit(x, y, { span: 0.3, surface: 'direct' });
  assert.ok(maxRelativeError(rows.map((r, i) => [fitted[i]!, r[3]!])) < 1e-12);
  // the two surfaces differ by more than the tolerance above, so each test checks its own surface
  const interpolated = loessFit(x, y, { span: 0.3 });
  assert.ok(maxRelativeError(rows.map((r, i) => [interpolated[i]!, r[3]!])) > 1e-6);
});

test('loess reproduces a quadratic exactly and refuses neighbourhoods too small for one', () => {
  const xs = Float64Array.from({ length: 50 }, (_, i) => i / 10);
  const ys = xs.map((v) => 2 - v + 0.5 * v * v);
  const fitted = loessFit(xs, ys, { span: 0.3 });
  assert.ok(maxRelativeError(Array.from(ys, (v, i) => [fitted[i]!, v])) < 1e-10);
  assert.throws(() => loessFit(xs.subarray(0, 10), ys.subarray(0, 10), { span: 0.3 }), PreprocessError);
});
