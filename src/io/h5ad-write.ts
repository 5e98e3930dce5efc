import { atomically } from './atomic.js';
import type { Group as H5Group } from 'h5wasm';
import { SLICE_ELEMENTS, loadH5wasm } from './hdf5.js';
import { isRowBlocks, type RowBlocks } from './row-blocks.js';
import { MAX_NNZ, type AnnData, type Column, type CsrMatrix, type DenseMatrix, type Frame } from './types.js';

/** A value stored under `uns`: nested dictionaries of scalars, arrays and tables. */
export type UnsValue = string | number | boolean | string[] | Float64Array | Float32Array | Int32Array | Frame | DenseMatrix | { [key: string]: UnsValue };

/** Chunk length for compressed 1-D datasets: large enough for gzip to pay, small enough to slice. */
const CHUNK = 1 << 16;
/** gzip level 1: a third less time than h5py's 4 for a few per cent more bytes (docs/decisions.md). */
const GZIP_LEVEL = 1;

type Encodable = Parameters<H5Group['create_dataset']>[0]['data'];
type Numeric1d = Float32Array | Float64Array | Int32Array | Int8Array | Int16Array;

function encode(node: { create_attribute: H5Group['create_attribute'] }, type: string, version: string): void {
  node.create_attribute('encoding-type', type);
  node.create_attribute('encoding-version', version);
}

/** Writes a numeric array as an anndata `array`; `gzipLevel` is for bench/h5-gzip.ts, which weighs the levels. */
export function writeArray(group: H5Group, name: string, data: Numeric1d, shape = [data.length], gzipLevel = GZIP_LEVEL): void {
  const compress = data.length >= 1024;
  const options = compress
    ? { chunks: shape.length === 1 ? [Math.min(CHUNK, data.length)] : [Math.max(1, Math.min(shape[0]!, Math.floor(CHUNK / shape[1]!))), shape[1]!], compression: 'gzip' as const, compression_opts: gzipLevel }
    : {};
  if (shape.length > 1 || data.length <= SLICE_ELEMENTS) {
    encode(group.create_dataset({ name, data: data as Encodable, shape, ...options }), 'array', '0.2.0');
    return;
  }
  const array = appendableArray(group, name, gzipLevel);
  array.append(data);
  array.close(data);
}

function writeStrings(group: H5Group, name: string, values: readonly string[]): void {
  const dataset = group.create_dataset({ name, data: values.length > 0 ? [...values] : [''], shape: [values.length] });
  encode(dataset, 'string-array', '0.2.0');
}

/** The narrowest signed integer array that holds category codes (anndata writes the same). */
function codesArray(codes: Int32Array, nCategories: number): Int8Array | Int16Array | Int32Array {
  if (nCategories < 128) return Int8Array.from(codes);
  if (nCategories < 32768) return Int16Array.from(codes);
  return codes;
}

/** A 1-D dataset written a block at a time (its length unknown at first), chunked and compressed; every slice goes through h5wasm's heap (2 GiB at most) on its own. */
function appendableArray(group: H5Group, name: string, gzipLevel = GZIP_LEVEL) {
  let dataset: ReturnType<H5Group['create_dataset']> | undefined;
  let length = 0;
  return {
    append(values: Numeric1d): void {
      for (let start = 0; start < values.length; start += SLICE_ELEMENTS) {
        const slice = values.subarray(start, Math.min(values.length, start + SLICE_ELEMENTS));
        if (!dataset) {
          dataset = group.create_dataset({ name, data: slice as Encodable, shape: [slice.length], maxshape: [null], chunks: [CHUNK], compression: 'gzip', compression_opts: gzipLevel });
        } else {
          dataset.resize([length + slice.length]);
          dataset.write_slice([[length, length + slice.length]], slice);
        }
        length += slice.length;
      }
    },
    /** Ends the array; `empty` is written when no block held a value. */
    close(empty: Numeric1d): void {
      if (dataset) encode(dataset, 'array', '0.2.0');
      else writeArray(group, name, empty);
    },
  };
}

/** A CSR matrix, whole or block by block (a matrix larger than memory: only one block of rows is held at a time). */
function writeCsr(group: H5Group, name: string, matrix: CsrMatrix | RowBlocks): void {
  const element = group.create_group(name);
  encode(element, 'csr_matrix', '0.1.0');
  element.create_attribute('shape', new BigInt64Array([BigInt(matrix.nRows), BigInt(matrix.nCols)]));
  if (!isRowBlocks(matrix)) {
    writeArray(element, 'data', matrix.data);
    writeArray(element, 'indices', matrix.indices);
    writeArray(element, 'indptr', matrix.indptr);
    return;
  }
  const data = appendableArray(element, 'data');
  const indices = appendableArray(element, 'indices');
  const indptr = new Float64Array(matrix.nRows + 1);
  matrix.eachBlock((block, first) => {
    const nnz = block.indptr[block.nRows]!;
    const base = indptr[first]!;
    for (let r = 1; r <= block.nRows; r++) indptr[first + r] = base + block.indptr[r]!;
    data.append(block.data.subarray(0, nnz));
    indices.append(block.indices.subarray(0, nnz));
  });
  data.close(new Float32Array(0));
  indices.close(new Int32Array(0));
  // anndata reads int64 offsets where int32 cannot hold them, as scipy writes them.
  if (indptr[matrix.nRows]! <= MAX_NNZ) writeArray(element, 'indptr', Int32Array.from(indptr));
  else encode(element.create_dataset({ name: 'indptr', data: BigInt64Array.from(indptr, BigInt) as Encodable, shape: [indptr.length], chunks: [CHUNK], compression: 'gzip', compression_opts: GZIP_LEVEL }), 'array', '0.2.0');
}

function writeDense(group: H5Group, name: string, matrix: DenseMatrix): void {
  writeArray(group, name, matrix.data, [matrix.nRows, matrix.nCols]);
}

function writeColumn(frame: H5Group, name: string, column: Column): void {
  switch (column.kind) {
    case 'numeric':
      return writeArray(frame, name, column.values);
    case 'string':
      return writeStrings(frame, name, column.values);
    case 'boolean':
      return writeColumn(frame, name, { kind: 'categorical', categories: ['False', 'True'], codes: Int32Array.from(column.values), ordered: false });
    case 'categorical': {
      // anndata 0.8 needs a real HDF5 boolean for the 0.2.0 "ordered" attribute, which h5wasm cannot
      // write; the 0.1.0 dataframe layout (codes + a path to __categories/<name>) loads as categorical.
      const categories = frame.keys().includes('__categories') ? (frame.get('__categories') as H5Group) : frame.create_group('__categories');
      writeStrings(categories, name, column.categories);
      writeArray(frame, name, codesArray(column.codes, column.categories.length));
      (frame.get(name) as H5Group).create_attribute('categories', `__categories/${name}`);
      return;
    }
  }
}

function writeFrame(group: H5Group, name: string, frame: Frame): void {
  const element = group.create_group(name);
  encode(element, 'dataframe', '0.1.0');
  element.create_attribute('_index', '_index');
  const names = [...frame.columns.keys()];
  element.create_attribute('column-order', names.length > 0 ? names : new Float64Array(0));
  writeStrings(element, '_index', frame.index);
  for (const [column, values] of frame.columns) writeColumn(element, column, values);
}

function isFrame(value: UnsValue): value is Frame {
  return typeof value === 'object' && 'index' in value && 'columns' in value && value.columns instanceof Map;
}

function isDense(value: UnsValue): value is DenseMatrix {
  return typeof value === 'object' && 'nRows' in value && 'nCols' in value && 'data' in value && value.data instanceof Float32Array;
}

function writeUns(group: H5Group, name: string, value: UnsValue): void {
  if (typeof value === 'string') {
    encode(group.create_dataset({ name, data: value }), 'string', '0.2.0');
  } else if (typeof value === 'number' || typeof value === 'boolean') {
    encode(group.create_dataset({ name, data: new Float64Array([Number(value)]), shape: [] }), 'numeric-scalar', '0.2.0');
  } else if (Array.isArray(value)) {
    writeStrings(group, name, value);
  } else if (ArrayBuffer.isView(value)) {
    writeArray(group, name, value);
  } else if (isFrame(value)) {
    writeFrame(group, name, value);
  } else if (isDense(value)) {
    writeDense(group, name, value);
  } else {
    const dict = group.create_group(name);
    encode(dict, 'dict', '0.1.0');
    for (const [key, item] of Object.entries(value)) writeUns(dict, key, item);
  }
}

function writeDict<T>(root: H5Group, name: string, entries: Map<string, T> | undefined, write: (group: H5Group, key: string, value: T) => void): void {
  const group = root.create_group(name);
  encode(group, 'dict', '0.1.0');
  for (const [key, value] of entries ?? []) write(group, key, value);
}

/** An AnnData to write: its matrices in memory, or read by blocks of rows (written a block at a time). */
export interface AnnDataToWrite extends Omit<AnnData, 'X' | 'layers'> {
  readonly X: CsrMatrix | RowBlocks;
  readonly layers?: Map<string, CsrMatrix | RowBlocks>;
}

/**
 * Writes an AnnData-spec .h5ad (X as CSR float32, layers, obs/var, obsm, uns) that anndata's
 * read_h5ad loads. Writes to a temporary name and renames, so a failure leaves no partial file.
 */
export async function writeH5ad(path: string, data: AnnDataToWrite): Promise<void> {
  const h5wasm = await loadH5wasm();
  await atomically(path, async (partial) => {
    const file = new h5wasm.File(partial, 'w');
    try {
      encode(file, 'anndata', '0.1.0');
      writeCsr(file, 'X', data.X);
      writeDict(file, 'layers', data.layers, writeCsr);
      writeFrame(file, 'obs', data.obs);
      writeFrame(file, 'var', data.var);
      writeDict(file, 'obsm', data.obsm, writeDense);
      writeDict(file, 'varm', undefined, writeDense);
      writeDict(file, 'obsp', undefined, writeCsr);
      writeDict(file, 'varp', undefined, writeCsr);
      writeDict(file, 'uns', new Map(Object.entries((data.uns ?? {}) as Record<string, UnsValue>)), writeUns);
    } finally {
      file.close();
    }
  });
}
