import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReadResult } from '../../src/io/index.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const fixture = (...parts: string[]) => join(repoRoot, 'test', 'fixtures', 'io', ...parts);
/** ../shared/data beside the checkout; tests over it skip when it is absent. */
export const sharedData = join(repoRoot, '..', 'shared', 'data');
export const hasShared = existsSync(sharedData);
export const tempDir = (prefix = 'scgmdvae-test-') => mkdtemp(join(tmpdir(), prefix));

/** The inspection's fields as the loaded dataset gives them. */
export function summaryOfRead({ data, format, matrix, values, genomes, featureTypes, renamedGenes }: ReadResult) {
  return {
    format,
    n_obs: data.X.nRows,
    n_vars: data.X.nCols,
    nnz: data.X.data.length,
    matrix,
    values,
    obs_columns: [...data.obs.columns.keys()],
    var_columns: [...data.var.columns.keys()],
    ...(genomes ? { genomes } : {}),
    ...(featureTypes ? { feature_types: featureTypes } : {}),
    renamed_genes: renamedGenes,
  };
}
