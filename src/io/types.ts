/**
 * The one in-memory representation of a single-cell dataset, shared by every stage.
 *
 * Size limits: indices and indptr are Int32Array, so a matrix holds at most 2^31 - 1 stored
 * values (MAX_NNZ) and 2^31 - 1 rows or columns. Memory binds first on a 24 GiB machine:
 * each stored value costs 8 bytes (float32 value + int32 column), so ~1.5e9 nonzeros fill it.
 */
export const MAX_NNZ = 2 ** 31 - 1;

/** Compressed sparse rows: row r holds columns indices[indptr[r]..indptr[r+1]) with sorted columns. */
export interface CsrMatrix {
  readonly nRows: number;
  readonly nCols: number;
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
  readonly data: Float32Array;
}

/** A dense row-major matrix (embeddings, latents). */
export interface DenseMatrix {
  readonly nRows: number;
  readonly nCols: number;
  readonly data: Float32Array;
}

/** A cells x features matrix in either storage. */
export type Matrix = CsrMatrix | DenseMatrix;

/** An annotation column; a code of -1 or NaN marks a missing value. */
export type Column =
  | { readonly kind: 'categorical'; readonly categories: string[]; readonly codes: Int32Array; readonly ordered: boolean }
  | { readonly kind: 'numeric'; readonly values: Float64Array }
  | { readonly kind: 'string'; readonly values: string[] }
  | { readonly kind: 'boolean'; readonly values: Uint8Array };

/** A dataframe: one row per cell (obs) or per gene (var), columns in insertion order. */
export interface Frame {
  readonly index: string[];
  readonly columns: Map<string, Column>;
}

/** Values kind of a matrix, from a sample of its stored values. */
export type ValuesKind = 'counts' | 'lognorm' | 'scaled' | 'other';

/** An AnnData-shaped dataset: X is cells x genes. */
export interface AnnData {
  readonly X: CsrMatrix;
  readonly obs: Frame;
  readonly var: Frame;
  readonly layers?: Map<string, CsrMatrix>;
  readonly obsm?: Map<string, DenseMatrix>;
  readonly uns?: Record<string, unknown>;
}
