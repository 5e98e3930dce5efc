import type { ValuesKind } from './types.js';

/** Stored values inspected to classify a matrix: blocks spread evenly, so a file is classified from a few slices. */
const SAMPLE_BLOCKS = 64;
const SAMPLE_BLOCK_LENGTH = 4096;
/** log1p of counts normalised to 1e4 stays below ~12; a larger maximum means something else. */
const LOGNORM_MAX = 20;

/** The [start, end) ranges of `length` stored values that make the sample: all of them when few. */
export function sampleRanges(length: number): [number, number][] {
  if (length <= SAMPLE_BLOCKS * SAMPLE_BLOCK_LENGTH) return length > 0 ? [[0, length]] : [];
  const gap = (length - SAMPLE_BLOCK_LENGTH) / (SAMPLE_BLOCKS - 1);
  return Array.from({ length: SAMPLE_BLOCKS }, (_, b) => {
    const start = Math.floor(b * gap);
    return [start, start + SAMPLE_BLOCK_LENGTH];
  });
}

/**
 * Classifies what a matrix holds from a sample of its stored values: raw counts (non-negative
 * integers), log-normalised (non-negative, fractional, small), scaled (negative values present).
 */
export function classifySample(sample: ArrayLike<number>): ValuesKind {
  if (sample.length === 0) return 'other';
  let negative = false;
  let fractional = false;
  let max = -Infinity;
  for (let k = 0; k < sample.length; k++) {
    const v = sample[k]!;
    if (v < 0) negative = true;
    if (!Number.isInteger(v)) fractional = true;
    if (v > max) max = v;
  }
  if (negative) return 'scaled';
  if (!fractional) return 'counts';
  return max <= LOGNORM_MAX ? 'lognorm' : 'other';
}

/** The values of `sampleRanges(length)` in order, each range read by `read(start, end)`. */
export function gatherSample(length: number, read: (start: number, end: number) => ArrayLike<number>): Float32Array {
  const ranges = sampleRanges(length);
  const out = new Float32Array(ranges.reduce((n, [start, end]) => n + end - start, 0));
  let offset = 0;
  for (const [start, end] of ranges) {
    out.set(read(start, end), offset);
    offset += end - start;
  }
  return out;
}

/** The sample of `values` in memory: the same ranges a file's sample reads. */
export function sampleOf(values: Float32Array): Float32Array {
  return gatherSample(values.length, (start, end) => values.subarray(start, end));
}

/** Classifies a matrix in memory from its stored values. */
export function classifyValues(matrix: { readonly data: Float32Array }): ValuesKind {
  return classifySample(sampleOf(matrix.data));
}
