import { inMemoryBlocks, type RowBlocks } from '../io/row-blocks.js';
import type { CsrMatrix, ValuesKind } from '../io/types.js';
import { classifyValues } from '../io/values.js';
import { PreprocessError } from './errors.js';
import { median } from '../stats.js';

/** What each values kind looks like, for messages. */
export function describeValues(kind: ValuesKind, matrix: CsrMatrix): string {
  let max = -Infinity;
  let min = Infinity;
  for (const v of matrix.data) {
    if (v > max) max = v;
    if (v < min) min = v;
  }
  const range = matrix.data.length ? `values from ${fmt(min)} to ${fmt(max)}` : 'no stored values';
  switch (kind) {
    case 'counts':
      return `raw counts (non-negative integers, ${range})`;
    case 'lognorm':
      return `log-normalised values (fractional, ${range})`;
    case 'scaled':
      return `scaled values (negative values present, ${range})`;
    case 'other':
      return `non-integer values that are not log-normalised (${range})`;
  }
}

const fmt = (v: number) => Number(v.toPrecision(4)).toString();

/** Refuses a matrix whose values are of one of the `refused` kinds, saying what it holds and what to pass instead. */
export function requireValues(
  matrix: CsrMatrix,
  step: string,
  refused: readonly ValuesKind[],
  remedy: string,
  kind: ValuesKind = classifyValues(matrix),
): ValuesKind {
  if (refused.includes(kind)) throw new PreprocessError(`${step}: the matrix holds ${describeValues(kind, matrix)}; ${remedy}`);
  return kind;
}

export interface NormalizeTotalOptions {
  /** Total each cell is scaled to; 'median' (scanpy's target_sum=None) takes the median of the cells' totals. */
  readonly targetSum: number | 'median';
  /** Leave out of every cell's total the genes that exceed `maxFraction` of some cell's total. */
  readonly excludeHighlyExpressed?: boolean;
  readonly maxFraction?: number;
  /** What the caller knows the values are; classified from the data when omitted. */
  readonly valuesKind?: ValuesKind;
}

/** scanpy's default where an option is omitted. */
export const NORMALIZE_DEFAULTS = { maxFraction: 0.05 };

/** What normalize_total did, for the dataset's provenance (scanpy keeps the same facts). */
export interface NormalizeRecord {
  readonly targetSum: number;
  readonly targetSumFrom: 'given' | 'median';
  readonly excludeHighlyExpressed: boolean;
  readonly maxFraction: number;
  /** Genes left out of the totals (column indices). */
  readonly excludedGenes: number[];
}

/** Each cell's normalize_total factor, found in passes over the rows; `scale` applies it to a block. */
export interface TotalNormalizer {
  readonly record: NormalizeRecord;
  /** The block's values scaled by target / total of each of its rows (a zero total counts as 1, as scanpy divides it by 1). */
  scale(block: CsrMatrix, first: number): Float32Array;
}

/** normalize_total's factors for the counts of `source` (options as normalizeTotal's; the values are the caller's to check). */
export function totalNormalizer(source: RowBlocks, options: NormalizeTotalOptions): TotalNormalizer {
  const { targetSum, excludeHighlyExpressed = false, maxFraction = NORMALIZE_DEFAULTS.maxFraction } = options;
  if (targetSum !== 'median' && !(targetSum > 0 && Number.isFinite(targetSum))) {
    throw new PreprocessError(`normalize_total: target_sum must be a positive number or "median", got ${targetSum}`);
  }
  if (!(maxFraction > 0 && maxFraction <= 1)) {
    throw new PreprocessError(`normalize_total: max_fraction must be in (0, 1], got ${maxFraction}`);
  }
  const excluded = excludeHighlyExpressed ? highlyExpressedGenes(source, maxFraction) : undefined;
  const totals = new Float64Array(source.nRows);
  source.eachBlock(({ nRows, indptr, indices, data }, first) => {
    for (let r = 0; r < nRows; r++) {
      let total = 0;
      for (let k = indptr[r]!; k < indptr[r + 1]!; k++) if (!excluded?.[indices[k]!]) total += data[k]!;
      totals[first + r] = total;
    }
  });
  const target = targetSum === 'median' ? median(totals.filter((t) => t > 0)) : targetSum;
  const factors = Float64Array.from(totals, (total) => target / (total > 0 ? total : 1));
  const excludedGenes: number[] = [];
  excluded?.forEach((flag, col) => flag && excludedGenes.push(col));
  return {
    record: { targetSum: target, targetSumFrom: targetSum === 'median' ? 'median' : 'given', excludeHighlyExpressed, maxFraction, excludedGenes },
    scale: ({ nRows, indptr, data }, first) => {
      const out = new Float32Array(data.length);
      for (let r = 0; r < nRows; r++) {
        const factor = factors[first + r]!;
        for (let k = indptr[r]!; k < indptr[r + 1]!; k++) out[k] = data[k]! * factor;
      }
      return out;
    },
  };
}

/**
 * Scales each cell's values so they sum to the target (scanpy's `normalize_total`; as there, a cell
 * whose total is 0 is divided by 1). Returns a matrix sharing indptr and indices with the input.
 */
export function normalizeTotal(
  matrix: CsrMatrix,
  options: NormalizeTotalOptions,
): { matrix: CsrMatrix; record: NormalizeRecord } {
  requireValues(
    matrix,
    'normalize_total',
    ['lognorm', 'scaled'],
    'pass the raw counts (before log1p or scaling), e.g. the layer that holds counts',
    options.valuesKind,
  );
  const normalizer = totalNormalizer(inMemoryBlocks(matrix), options);
  return { matrix: { ...matrix, data: normalizer.scale(matrix, 0) }, record: normalizer.record };
}

/** Genes holding more than `maxFraction` of the (full) total of at least one cell. */
function highlyExpressedGenes(source: RowBlocks, maxFraction: number): Uint8Array {
  const flags = new Uint8Array(source.nCols);
  source.eachBlock(({ nRows, indptr, indices, data }) => {
    for (let r = 0; r < nRows; r++) {
      let total = 0;
      for (let k = indptr[r]!; k < indptr[r + 1]!; k++) total += data[k]!;
      for (let k = indptr[r]!; k < indptr[r + 1]!; k++) if (data[k]! > maxFraction * total) flags[indices[k]!] = 1;
    }
  });
  return flags;
}

export interface Log1pOptions {
  /** Logarithm base; natural log when omitted (scanpy's default). */
  readonly base?: number;
  /** Overwrite the input's values instead of allocating new ones (for a matrix the caller owns). */
  readonly inPlace?: boolean;
  /** What the caller knows the values are; classified from the data when omitted. */
  readonly valuesKind?: ValuesKind;
}

const LOG1P_CACHE_SIZE = 256;

/** What log1p did: scanpy's `uns['log1p']`. */
export interface Log1pRecord {
  readonly base: number | null;
}

/** log(1 + x) of every stored value (zeros stay zero). Refuses data that already look logged or scaled. */
export function log1p(matrix: CsrMatrix, options: Log1pOptions = {}): { matrix: CsrMatrix; record: Log1pRecord } {
  const { base, inPlace = false, valuesKind } = options;
  requireValues(
    matrix,
    'log1p',
    ['lognorm', 'scaled'],
    'it looks logged already: pass the counts or the normalize_total output instead, or skip log1p',
    valuesKind,
  );
  if (base !== undefined && !(base > 0 && base !== 1 && Number.isFinite(base))) {
    throw new PreprocessError(`log1p: base must be a positive number other than 1, got ${base}`);
  }
  const scale = base === undefined ? 1 : 1 / Math.log(base);
  const { data } = matrix;
  const out = inPlace ? data : new Float32Array(data.length);
  // a cell's values repeat (every count of 1 normalises to the same value): a small direct-mapped
  // cache on the value's bits returns the same result as Math.log1p at a fraction of its cost
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const cachedBits = new Uint32Array(LOG1P_CACHE_SIZE).fill(0xffffffff); // a NaN pattern no value has
  const cachedValue = new Float32Array(LOG1P_CACHE_SIZE);
  for (let k = 0; k < data.length; k++) {
    const key = bits[k]!;
    const slot = (key ^ (key >>> 11) ^ (key >>> 19)) & (LOG1P_CACHE_SIZE - 1);
    if (cachedBits[slot] !== key) {
      cachedBits[slot] = key;
      cachedValue[slot] = Math.log1p(data[k]!) * scale;
    }
    out[k] = cachedValue[slot]!;
  }
  return { matrix: inPlace ? matrix : { ...matrix, data: out }, record: { base: base ?? null } };
}
