import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CsrMatrix } from '../../src/io/types.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fixtures = join(repoRoot, 'test', 'fixtures', 'preprocess');
/** The shared data folder beside the repository (absent on a fresh clone: tests using it skip). */
export const shared = resolve(repoRoot, '..', 'shared');
export const sharedMissing = existsSync(join(shared, 'reference')) ? false : 'needs ../shared (reference outputs and data)';

/** Rows of a CSV as written by R's write.csv (quoted strings, no embedded commas), header first. */
export function readCsv(path: string): string[][] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(',').map((field) => field.replace(/^"|"$/g, '')));
}

/** A CSR matrix from dense rows (for small synthetic cases). */
export function csrFromRows(rows: number[][]): CsrMatrix {
  const indptr = [0];
  const indices: number[] = [];
  const data: number[] = [];
  for (const row of rows) {
    row.forEach((v, j) => {
      if (v !== 0) {
        indices.push(j);
        data.push(v);
      }
    });
    indptr.push(indices.length);
  }
  return {
    nRows: rows.length,
    nCols: rows[0]?.length ?? 0,
    indptr: Int32Array.from(indptr),
    indices: Int32Array.from(indices),
    data: Float32Array.from(data),
  };
}

/** Value at (row, col) of a CSR matrix. */
export function valueAt(matrix: CsrMatrix, row: number, col: number): number {
  for (let k = matrix.indptr[row]!; k < matrix.indptr[row + 1]!; k++) if (matrix.indices[k] === col) return matrix.data[k]!;
  return 0;
}

/** Largest relative difference |a - b| / |b| (absolute where b is 0). */
export function maxRelativeError(pairs: Iterable<[number, number]>): number {
  let worst = 0;
  for (const [a, b] of pairs) worst = Math.max(worst, b === 0 ? Math.abs(a) : Math.abs(a - b) / Math.abs(b));
  return worst;
}
