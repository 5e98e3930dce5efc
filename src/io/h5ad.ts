import type { Dataset as H5Dataset, File as H5File, Group as H5Group } from 'h5wasm';
import { DatasetError } from './errors.js';
import { SLICE_ELEMENTS, assertDecodable, attr, child, hdf5Reason, isDataset, isGroup, readNumeric, readStrings, requireDataset, stringAttr } from './hdf5.js';
import { assertFitsInMemory, transposeCompressed, validateCsr } from './sparse.js';
import type { Column, CsrMatrix, Frame } from './types.js';

const LEGACY_REMEDY = 'open it with anndata >= 0.7 and save it again (adata = anndata.read_h5ad(path); adata.write_h5ad(out))';

function shapeAttr(group: H5Group): [number, number] {
  const shape = attr(group, 'shape');
  const values = ArrayBuffer.isView(shape) || Array.isArray(shape) ? Array.from(shape as ArrayLike<number | bigint>, Number) : [];
  if (values.length !== 2) throw new DatasetError('missing_element', `sparse matrix "${group.path}" has no two-element "shape" attribute`);
  return values as [number, number];
}

/** Reads a sparse group (csr_matrix or csc_matrix encoding) as cells x genes CSR. */
function readSparse(group: H5Group): CsrMatrix {
  const encoding = stringAttr(group, 'encoding-type');
  if (encoding === undefined && attr(group, 'h5sparse_format') !== undefined) {
    throw new DatasetError('unsupported_layout', `"${group.path}" uses the pre-0.7 anndata sparse layout (h5sparse_format); ${LEGACY_REMEDY}`);
  }
  if (encoding !== 'csr_matrix' && encoding !== 'csc_matrix') {
    throw new DatasetError('unsupported_layout', `"${group.path}" is a group with encoding "${encoding ?? 'none'}", not a csr_matrix or csc_matrix`);
  }
  const [nRows, nCols] = shapeAttr(group);
  const what = `"${group.path}"`;
  const data = requireDataset(group, 'data', what);
  const indicesSet = requireDataset(group, 'indices', what);
  const indptrSet = requireDataset(group, 'indptr', what);
  assertFitsInMemory(data.shape?.[0] ?? 0, what);
  const indptr = readNumeric(indptrSet, Int32Array);
  const indices = readNumeric(indicesSet, Int32Array);
  const values = readNumeric(data, Float32Array);
  if (encoding === 'csr_matrix') return validateCsr({ nRows, nCols, indptr, indices, data: values }, what);
  validateCsr({ nRows: nCols, nCols: nRows, indptr, indices, data: values }, what);
  return { nRows, nCols, ...transposeCompressed(nCols, nRows, indptr, indices, values) };
}

/** Reads a dense 2-D dataset into CSR, a block of rows at a time. */
function readDense(dataset: H5Dataset): CsrMatrix {
  assertDecodable(dataset);
  const shape = dataset.shape ?? [];
  if (shape.length !== 2) throw new DatasetError('unsupported_layout', `dense matrix "${dataset.path}" has ${shape.length} dimensions, not 2`);
  const [nRows, nCols] = shape as [number, number];
  const rowsPerBlock = Math.max(1, Math.floor(SLICE_ELEMENTS / Math.max(1, nCols)));
  const indptr = new Int32Array(nRows + 1);
  let indices = new Int32Array(1024);
  let data = new Float32Array(1024);
  let nnz = 0;
  for (let r0 = 0; r0 < nRows; r0 += rowsPerBlock) {
    const r1 = Math.min(nRows, r0 + rowsPerBlock);
    let block: ArrayLike<number | bigint>;
    try {
      block = dataset.slice([[r0, r1], []]) as ArrayLike<number | bigint>;
    } catch (error) {
      throw new DatasetError('truncated', `dataset "${dataset.path}" cannot be read (${hdf5Reason(error)}): the file is damaged or truncated`);
    }
    for (let r = r0; r < r1; r++) {
      const base = (r - r0) * nCols;
      for (let c = 0; c < nCols; c++) {
        const v = Number(block[base + c]);
        if (v === 0) continue;
        if (nnz === indices.length) {
          assertFitsInMemory(nnz * 2, `dense matrix "${dataset.path}"`);
          const grownIndices = new Int32Array(nnz * 2);
          grownIndices.set(indices);
          indices = grownIndices;
          const grownData = new Float32Array(nnz * 2);
          grownData.set(data);
          data = grownData;
        }
        indices[nnz] = c;
        data[nnz++] = v;
      }
      indptr[r + 1] = nnz;
    }
  }
  return validateCsr({ nRows, nCols, indptr, indices: indices.slice(0, nnz), data: data.slice(0, nnz) }, `"${dataset.path}"`);
}

/** Reads a matrix element of an h5ad file, whatever its encoding. */
export function readMatrixElement(node: H5Group | H5Dataset): CsrMatrix {
  return isGroup(node) ? readSparse(node) : readDense(node);
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

/** Reads the chosen matrix (`X`, `raw` for raw/X, or a layer name) with its obs and var frames. */
export function readH5ad(file: H5File, layer: string | undefined): { X: CsrMatrix; obs: Frame; var: Frame; matrix: string } {
  const available = availableMatrices(file);
  const matrix = layer === undefined || layer === 'X' ? 'X' : layer === 'raw' || layer === 'raw/X' ? 'raw' : layer.startsWith('layers/') ? layer : `layers/${layer}`;
  if (!available.includes(matrix)) {
    throw new DatasetError('missing_element', `the h5ad file has no matrix "${matrix}"; it offers: ${available.join(', ') || 'none'}`);
  }
  const node = file.get(matrix === 'raw' ? 'raw/X' : matrix);
  if (!isGroup(node) && !isDataset(node)) throw new DatasetError('missing_element', `"${matrix}" is not a matrix`);
  const obs = readFrame(file, 'obs');
  const variables = readFrame(file, matrix === 'raw' ? 'raw/var' : 'var');
  const X = readMatrixElement(node);
  if (X.nRows !== obs.index.length || X.nCols !== variables.index.length) {
    throw new DatasetError('inconsistent_shape', `matrix "${matrix}" is ${X.nRows} x ${X.nCols} but obs has ${obs.index.length} rows and var ${variables.index.length}`);
  }
  return { X, obs, var: variables, matrix: matrix === 'raw' ? 'raw/X' : matrix };
}
