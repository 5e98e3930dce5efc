import type { CsrMatrix, DenseMatrix } from '../io/types.js';
import { selectColumns } from '../io/sparse.js';
import { PreprocessError } from './errors.js';
import { geneMeanVar } from './mean-var.js';

export interface ScaleOptions {
  /** Genes (columns) to keep, increasing; all genes when omitted. Zero-centred values are dense, so pass the highly variable genes. */
  readonly genes?: Int32Array;
  /** Clip the scaled values to [-maxValue, maxValue] (scanpy's `max_value`; Seurat's ScaleData uses 10). */
  readonly maxValue?: number;
}

/**
 * Zero-centres every kept gene and divides by its standard deviation (denominator n - 1; genes
 * with none are only centred), as scanpy's `scale`. The result is a dense cells x genes matrix:
 * centring turns every zero into a non-zero, so only the genes a model needs should be kept.
 */
export function scale(matrix: CsrMatrix, options: ScaleOptions = {}): { matrix: DenseMatrix; mean: Float64Array; std: Float64Array } {
  const { genes, maxValue } = options;
  if (maxValue !== undefined && !(maxValue > 0)) throw new PreprocessError(`scale: max_value must be positive, got ${maxValue}`);
  const kept = genes ? selectColumns(matrix, genes) : matrix;
  const { mean, variance } = geneMeanVar(kept);
  const std = variance.map((v) => (v > 0 ? Math.sqrt(v) : 1));
  const { nRows, nCols, indptr, indices, data } = kept;
  const out = new Float32Array(nRows * nCols);
  const clip = (v: number) => (maxValue === undefined ? v : Math.max(-maxValue, Math.min(maxValue, v)));
  const zeroScaled = Float64Array.from(mean, (m, g) => clip(-m / std[g]!));
  for (let r = 0; r < nRows; r++) {
    const row = out.subarray(r * nCols, (r + 1) * nCols);
    row.set(zeroScaled);
    for (let k = indptr[r]!; k < indptr[r + 1]!; k++) {
      const g = indices[k]!;
      row[g] = clip((data[k]! - mean[g]!) / std[g]!);
    }
  }
  return { matrix: { nRows, nCols, data: out }, mean, std };
}
