/** Model inputs saved to a folder (a JSON header and raw little-endian arrays), so the GPU check reads no dataset format. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CsrMatrix } from '../src/io/types.js';
import type { ModelInputs } from '../src/model/index.js';

export interface SavedInputs {
  readonly name: string;
  /** Pipeline parameters of the run that made these inputs (what the fit config is built from). */
  readonly params: Record<string, unknown>;
  readonly inputs: ModelInputs & { readonly x: CsrMatrix };
  /** Reference labels per cell (-1: none) to score the clusters against. */
  readonly truth: Int32Array;
}

type Arrays = Record<string, Int32Array | Float32Array>;

export function saveInputs(dir: string, saved: SavedInputs): void {
  mkdirSync(dir, { recursive: true });
  const { x, libSize, conditions = [] } = saved.inputs;
  const arrays: Arrays = { indptr: x.indptr, indices: x.indices, data: x.data, truth: saved.truth, ...(libSize ? { libSize } : {}) };
  conditions.forEach((c, i) => (arrays[`condition${i}`] = c.codes));
  for (const [name, array] of Object.entries(arrays)) writeFileSync(join(dir, `${name}.bin`), array);
  const header = { name: saved.name, params: saved.params, nRows: x.nRows, nCols: x.nCols, hasLibSize: Boolean(libSize), conditions: conditions.map((c) => ({ name: c.name, categories: c.categories })) };
  writeFileSync(join(dir, 'inputs.json'), JSON.stringify(header));
}

export function loadInputs(dir: string): SavedInputs {
  const header = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8'));
  const bytes = (name: string) => {
    const b = readFileSync(join(dir, `${name}.bin`));
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  };
  const x: CsrMatrix = { nRows: header.nRows, nCols: header.nCols, indptr: new Int32Array(bytes('indptr')), indices: new Int32Array(bytes('indices')), data: new Float32Array(bytes('data')) };
  const conditions = (header.conditions as Array<{ name: string; categories: string[] }>).map((c, i) => ({ ...c, codes: new Int32Array(bytes(`condition${i}`)) }));
  return {
    name: header.name,
    params: header.params,
    inputs: { x, conditions, ...(header.hasLibSize ? { libSize: new Float32Array(bytes('libSize')) } : {}) },
    truth: new Int32Array(bytes('truth')),
  };
}

/** `nCells` rows drawn with replacement (seeded) from `saved`: the large inputs the throughput is timed on. */
export function sampleInputs(saved: SavedInputs, nCells: number, random: () => number): ModelInputs {
  const { x, libSize, conditions = [] } = saved.inputs;
  const rows = Int32Array.from({ length: nCells }, () => Math.floor(random() * x.nRows));
  const indptr = new Int32Array(nCells + 1);
  rows.forEach((r, i) => (indptr[i + 1] = indptr[i] + x.indptr[r + 1] - x.indptr[r]));
  const indices = new Int32Array(indptr[nCells]);
  const data = new Float32Array(indptr[nCells]);
  rows.forEach((r, i) => {
    indices.set(x.indices.subarray(x.indptr[r], x.indptr[r + 1]), indptr[i]);
    data.set(x.data.subarray(x.indptr[r], x.indptr[r + 1]), indptr[i]);
  });
  return {
    x: { nRows: nCells, nCols: x.nCols, indptr, indices, data },
    ...(libSize ? { libSize: Float32Array.from(rows, (r) => libSize[r]) } : {}),
    conditions: conditions.map((c) => ({ ...c, codes: Int32Array.from(rows, (r) => c.codes[r]) })),
  };
}
