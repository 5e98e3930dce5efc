import { register } from 'node:module';
import type { Dataset as H5Dataset, File as H5File, Group as H5Group } from 'h5wasm';
import { DatasetError } from './errors.js';

type H5Module = typeof import('h5wasm/node');
let h5: Promise<H5Module['default']> | undefined;

/** Loads h5wasm once, with HDF5 errors thrown as exceptions instead of printed to stderr. */
export function loadH5wasm(): Promise<H5Module['default']> {
  if (h5 === undefined) {
    register(new URL('./h5wasm-load-hook.mjs', import.meta.url));
    h5 = import('h5wasm/node').then(async ({ default: h5wasm }) => {
      const module = await h5wasm.ready;
      module.activate_throwing_error_handler();
      return h5wasm;
    });
  }
  return h5;
}

/** The innermost line of an HDF5 error stack, which is the one that says what went wrong. */
export function hdf5Reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const frames = [...text.matchAll(/#\d+: .*? in \w+\(\): (.*)/g)].map((m) => m[1]!.trim());
  return frames.at(-1) ?? text.split('\n')[0]!;
}

/** Opens an HDF5 file for reading, turning library failures into DatasetErrors. */
export async function openHdf5(path: string): Promise<H5File> {
  const h5wasm = await loadH5wasm();
  let file: H5File | undefined;
  try {
    file = new h5wasm.File(path, 'r');
    file.keys();
    return file;
  } catch (error) {
    try {
      file?.close();
    } catch {
      // a file that never opened has nothing to close
    }
    const reason = hdf5Reason(error);
    if (/truncated/i.test(reason)) {
      throw new DatasetError('truncated', `the HDF5 file is truncated (${reason}): the upload or copy was cut short; send the whole file again`);
    }
    throw new DatasetError('unknown_format', `the HDF5 file cannot be opened: ${reason}`);
  }
}

export function isGroup(node: unknown): node is H5Group {
  return node !== null && typeof node === 'object' && (node as { type?: string }).type === 'Group';
}

export function isDataset(node: unknown): node is H5Dataset {
  return node !== null && typeof node === 'object' && (node as { type?: string }).type === 'Dataset';
}

export function child(group: H5Group, name: string): H5Group | H5Dataset | undefined {
  if (!group.keys().includes(name)) return undefined;
  const node = group.get(name);
  return isGroup(node) || isDataset(node) ? node : undefined;
}

export function requireDataset(group: H5Group, name: string, what: string): H5Dataset {
  const node = child(group, name);
  if (!isDataset(node)) throw new DatasetError('missing_element', `${what}: dataset "${group.path}/${name}" is missing`);
  return node;
}

export function attr(node: H5Group | H5Dataset, name: string): unknown {
  const attrs = node.attrs;
  return name in attrs ? attrs[name]!.value : undefined;
}

export function stringAttr(node: H5Group | H5Dataset, name: string): string | undefined {
  const value = attr(node, name);
  return typeof value === 'string' ? value : undefined;
}

/** Filters HDF5 builds in; others (LZF, Blosc, ...) need a plugin h5wasm does not carry. */
const BUILTIN_FILTERS = new Set([1, 2, 3, 4, 5, 6]);
const FILTER_NAMES: Record<number, string> = { 32000: 'LZF', 32001: 'Blosc', 32004: 'LZ4', 32008: 'bitshuffle', 32015: 'Zstandard' };

/** Refuses a dataset compressed with a filter this build cannot decode, naming it and the remedy. */
export function assertDecodable(dataset: H5Dataset): void {
  for (const filter of dataset.filters) {
    if (!BUILTIN_FILTERS.has(filter.id)) {
      const name = FILTER_NAMES[filter.id] ?? filter.name ?? `id ${filter.id}`;
      throw new DatasetError(
        'unsupported_filter',
        `dataset "${dataset.path}" is compressed with the ${name} filter (HDF5 filter ${filter.id}), which this reader cannot decode; ` +
          `re-save it with gzip, e.g. in Python: adata = anndata.read_h5ad(path); adata.write_h5ad(out, compression="gzip")`,
      );
    }
  }
}

/** Elements read per slice: keeps h5wasm's 2 GiB heap far from full (64 Mi x 8 bytes = 512 MiB). */
export const SLICE_ELEMENTS = 2 ** 26;

type Numeric = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/** `dataset.slice(selection)`, a failed read named as a damaged or truncated file. */
function sliced(dataset: H5Dataset, selection: [number, number][] | [[number, number], []]): unknown {
  try {
    return dataset.slice(selection);
  } catch (error) {
    throw new DatasetError('truncated', `dataset "${dataset.path}" cannot be read (${hdf5Reason(error)}): the file is damaged or truncated`);
  }
}

function readSlice(dataset: H5Dataset, start: number, end: number): Numeric {
  const value = sliced(dataset, [[start, end]]);
  if (!ArrayBuffer.isView(value)) {
    throw new DatasetError('invalid_value', `dataset "${dataset.path}" does not hold numbers (its type is ${JSON.stringify(dataset.dtype)})`);
  }
  return value as Numeric;
}

/** Rows [r0, r1) of a 2-D dataset, row-major. */
export function readRows(dataset: H5Dataset, r0: number, r1: number): ArrayLike<number | bigint> {
  return sliced(dataset, [[r0, r1], []]) as ArrayLike<number | bigint>;
}

/** Copies a numeric source into a target array; plain loops, since BigInt64Array needs per-element conversion. */
function copyInto(target: Float32Array | Int32Array | Float64Array, offset: number, source: Numeric): void {
  if (source instanceof BigInt64Array || source instanceof BigUint64Array) {
    for (let i = 0; i < source.length; i++) target[offset + i] = Number(source[i]);
  } else {
    target.set(source, offset);
  }
}

/** Reads elements [start, end) of a 1-D numeric dataset into a new typed array, in slices. */
export function readNumeric<T extends Float32Array | Int32Array | Float64Array>(
  dataset: H5Dataset,
  ArrayType: { new (length: number): T },
  start = 0,
  end = dataset.shape?.[0] ?? 0,
): T {
  assertDecodable(dataset);
  const out = new ArrayType(end - start);
  for (let from = start; from < end; from += SLICE_ELEMENTS) {
    const to = Math.min(end, from + SLICE_ELEMENTS);
    copyInto(out, from - start, readSlice(dataset, from, to));
  }
  return out;
}

/** Reads a 1-D string dataset (vlen or fixed-length). */
export function readStrings(dataset: H5Dataset): string[] {
  assertDecodable(dataset);
  const value = dataset.value;
  if (Array.isArray(value)) return value.map((v) => String(v));
  if (typeof value === 'string') return [value];
  throw new DatasetError('invalid_value', `dataset "${dataset.path}" does not hold strings (its type is ${JSON.stringify(dataset.dtype)})`);
}
