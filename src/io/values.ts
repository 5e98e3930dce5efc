import type { CsrMatrix, ValuesKind } from './types.js';

/** Stored values inspected to classify a matrix: evenly spaced, so one pass costs little. */
const SAMPLE_SIZE = 200_000;
/** log1p of counts normalised to 1e4 stays below ~12; a larger maximum means something else. */
const LOGNORM_MAX = 20;

/**
 * Classifies what a matrix holds from a sample of its stored values: raw counts (non-negative
 * integers), log-normalised (non-negative, fractional, small), scaled (negative values present).
 */
export function classifyValues(matrix: CsrMatrix): ValuesKind {
  const { data } = matrix;
  if (data.length === 0) return 'other';
  const step = Math.max(1, Math.floor(data.length / SAMPLE_SIZE));
  let negative = false;
  let fractional = false;
  let max = -Infinity;
  for (let k = 0; k < data.length; k += step) {
    const v = data[k]!;
    if (v < 0) negative = true;
    if (!Number.isInteger(v)) fractional = true;
    if (v > max) max = v;
  }
  if (negative) return 'scaled';
  if (!fractional) return 'counts';
  return max <= LOGNORM_MAX ? 'lognorm' : 'other';
}
