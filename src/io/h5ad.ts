import type { Dataset as H5Dataset, File as H5File, Group as H5Group } from 'h5wasm';
import { DatasetError } from './errors.js';
import { attr, child, isDataset, isGroup, readNumeric, readStrings, requireDataset, stringAttr } from './hdf5.js';
import { compressedInFile, denseInFile, type StoredMatrix } from './stored-matrix.js';
import type { Column, Frame } from './types.js';

const LEGACY_REMEDY = 'open it with anndata >= 0.7 and save it again (adata = anndata.read_h5ad(path); adata.write_h5ad(out))';

function shapeAttr(group: H5Group): [number, number] {
  const shape = attr(group, 'shape');
  const values = ArrayBuffer.isView(shape) || Array.isArray(shape) ? Array.from(shape as ArrayLike<number | bigint>, Number) : [];
  if (values.length !== 2) throw new DatasetError('missing_element', `sparse matrix "${group.path}" has no two-element "shape" attribute`);
  return values as [number, number];
}

/** A sparse group (csr_matrix or csc_matrix encoding), left in the file. */
function sparseElement(group: H5Group): StoredMatrix {
  const encoding = stringAttr(group, 'encoding-type');
  if (encoding === undefined && attr(group, 'h5sparse_format') !== undefined) {
    throw new DatasetError('unsupported_layout', `"${group.path}" uses the pre-0.7 anndata sparse layout (h5sparse_format); ${LEGACY_REMEDY}`);
  }
  if (encoding !== 'csr_matrix' && encoding !== 'csc_matrix') {
    throw new DatasetError('unsupported_layout', `"${group.path}" is a group with encoding "${encoding ?? 'none'}", not a csr_matrix or csc_matrix`);
  }
  const [nRows, nCols] = shapeAttr(group);
  const what = `"${group.path}"`;
  const datasets = { data: requireDataset(group, 'data', what), indices: requireDataset(group, 'indices', what), indptr: requireDataset(group, 'indptr', what) };
  return compressedInFile(datasets, encoding === 'csr_matrix' ? 'csr' : 'csc', nRows, nCols, what);
}

/** A matrix element of an h5ad file, whatever its encoding, left in the file. */
function matrixElement(node: H5Group | H5Dataset): StoredMatrix {
  return isGroup(node) ? sparseElement(node) : denseInFile(node);
}

function isH5pyBoolean(dataset: H5Dataset): boolean {
  const members = (dataset.metadata as { enum_type?: { members?: Record<string, number> } }).enum_type?.members;
  return members !== undefined && members['FALSE'] === 0 && members['TRUE'] === 1;
}

function numericColumn(dataset: H5Dataset): Column {
  if (isH5pyBoolean(dataset)) return { kind: 'boolean', values: Uint8Array.from(readNumeric(dataset, Int32Array), (v) => (v ? 1 : 0)) };
  return { kind: 'numeric', values: readNumeric(dataset, Float64Array) };
}

function isStringDataset(dataset: H5Dataset): boolean {
  return (dataset.metadata as { type?: number }).type === 3;
}

/** Reads values of a categorical's categories as strings (numbers are written out). */
function categoryNames(dataset: H5Dataset): string[] {
  return isStringDataset(dataset) ? readStrings(dataset) : Array.from(readNumeric(dataset, Float64Array), String);
}

function readColumn(frame: H5Group, name: string): Column {
  const node = child(frame, name);
  if (node === undefined) throw new DatasetError('missing_element', `dataframe "${frame.path}" lists column "${name}" but does not store it`);
  if (isGroup(node)) {
    const encoding = stringAttr(node, 'encoding-type');
    if (encoding === 'categorical') {
      return {
        kind: 'categorical',
        categories: categoryNames(requireDataset(node, 'categories', `categorical "${node.path}"`)),
        codes: readNumeric(requireDataset(node, 'codes', `categorical "${node.path}"`), Int32Array),
        ordered: Boolean(attr(node, 'ordered')),
      };
    }
    if (encoding === 'nullable-integer' || encoding === 'nullable-boolean') {
      const values = readNumeric(requireDataset(node, 'values', `"${node.path}"`), Float64Array);
      const mask = readNumeric(requireDataset(node, 'mask', `"${node.path}"`), Int32Array);
      mask.forEach((missing, i) => missing && (values[i] = NaN));
      return encoding === 'nullable-integer' ? { kind: 'numeric', values } : { kind: 'categorical', categories: ['False', 'True'], codes: Int32Array.from(values, (v) => (Number.isNaN(v) ? -1 : v ? 1 : 0)), ordered: false };
    }
    throw new DatasetError('unsupported_layout', `column "${node.path}" has encoding "${encoding ?? 'none'}", which this reader does not know`);
  }
  const legacyCategories = attr(node, 'categories');
  if (legacyCategories !== undefined) {
    const categories = child(frame, '__categories');
    const stored = isGroup(categories) ? child(categories, name) : undefined;
    if (!isDataset(stored)) throw new DatasetError('missing_element', `categorical column "${node.path}" has no "__categories/${name}"`);
    return { kind: 'categorical', categories: categoryNames(stored), codes: readNumeric(node, Int32Array), ordered: Boolean(attr(stored, 'ordered')) };
  }
  return isStringDataset(node) ? { kind: 'string', values: readStrings(node) } : numericColumn(node);
}

function asStringList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  return Array.from(value as ArrayLike<unknown>, String);
}

/** Reads an anndata dataframe group (obs, var, raw/var). */
export function readFrame(file: H5File, path: string): Frame {
  const node = file.get(path);
  if (isDataset(node)) {
    throw new DatasetError('unsupported_layout', `"${path}" is stored as a compound dataset, the pre-0.7 anndata layout; ${LEGACY_REMEDY}`);
  }
  if (!isGroup(node)) throw new DatasetError('missing_element', `the h5ad file has no "${path}" dataframe`);
  const indexName = stringAttr(node, '_index') ?? '_index';
  const index = readStrings(requireDataset(node, indexName, `dataframe "${path}"`));
  const columns = new Map<string, Column>();
  for (const name of asStringList(attr(node, 'column-order'))) {
    const column = readColumn(node, name);
    const length = column.kind === 'categorical' ? column.codes.length : column.values.length;
    if (length !== index.length) {
      throw new DatasetError('inconsistent_shape', `column "${path}/${name}" has ${length} values for ${index.length} rows`);
    }
    columns.set(name, column);
  }
  return { index, columns };
}

/** Names of the matrices an h5ad file offers: X, raw, and each layer. */
export function availableMatrices(file: H5File): string[] {
  const keys = file.keys();
  const out = keys.includes('X') ? ['X'] : [];
  const raw = keys.includes('raw') ? file.get('raw') : undefined;
  if (isGroup(raw) && raw.keys().includes('X')) out.push('raw');
  const layers = keys.includes('layers') ? file.get('layers') : undefined;
  if (isGroup(layers)) out.push(...layers.keys().map((k) => `layers/${k}`));
  return out;
}

/** The chosen matrix (`X`, `raw` for raw/X, or a layer name), left in the file, with its obs and var frames. */
export function describeH5ad(file: H5File, layer: string | undefined): { X: StoredMatrix; obs: Frame; var: Frame; matrix: string } {
  const available = availableMatrices(file);
  const matrix = layer === undefined || layer === 'X' ? 'X' : layer === 'raw' || layer === 'raw/X' ? 'raw' : layer.startsWith('layers/') ? layer : `layers/${layer}`;
  if (!available.includes(matrix)) {
    throw new DatasetError('missing_element', `the h5ad file has no matrix "${matrix}"; it offers: ${available.join(', ') || 'none'}`);
  }
  const node = file.get(matrix === 'raw' ? 'raw/X' : matrix);
  if (!isGroup(node) && !isDataset(node)) throw new DatasetError('missing_element', `"${matrix}" is not a matrix`);
  const obs = readFrame(file, 'obs');
  const variables = readFrame(file, matrix === 'raw' ? 'raw/var' : 'var');
  const X = matrixElement(node);
  if (X.nRows !== obs.index.length || X.nCols !== variables.index.length) {
    throw new DatasetError('inconsistent_shape', `matrix "${matrix}" is ${X.nRows} x ${X.nCols} but obs has ${obs.index.length} rows and var ${variables.index.length}`);
  }
  return { X, obs, var: variables, matrix: matrix === 'raw' ? 'raw/X' : matrix };
}
