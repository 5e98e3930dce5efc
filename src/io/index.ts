import { DatasetError } from './errors.js';
import { detectContainer, type ContainerKind } from './detect.js';
import type { File as H5File } from 'h5wasm';
import { describeH5ad } from './h5ad.js';
import { isGroup, openHdf5 } from './hdf5.js';
import { filesBesideMatrix, listDirectory, locateMtxFiles, readMatrixMarket, readTsv, type MtxFiles } from './mtx.js';
import { readTarEntries, readZipEntries } from './archive.js';
import { firstDuplicate, makeUnique } from './names.js';
import { selectColumns } from './sparse.js';
import { subsetBlocks, type RowBlocks } from './row-blocks.js';
import { matrixInMemory, type StoredMatrix } from './stored-matrix.js';
import { describeTenxV2, describeTenxV3, tenxLayout, tenxV2Genomes, type TenxLayout } from './tenx.js';
import { classifySample } from './values.js';
import type { AnnData, Frame, ValuesKind } from './types.js';

export type { AnnData, Column, CsrMatrix, DenseMatrix, Frame, ValuesKind } from './types.js';
export type { RowBlocks } from './row-blocks.js';
export { DatasetError } from './errors.js';

export type DatasetFormat = 'h5ad' | '10x-h5-v2' | '10x-h5-v3' | '10x-mtx';

export interface ReadOptions {
  /** h5ad: `X` (default), `raw` for raw/X, or a layer name. */
  layer?: string;
  /** 10x HDF5 v2: the genome group to read when the file holds several. */
  genome?: string;
}

export interface ReadResult {
  data: AnnData;
  format: DatasetFormat;
  /** Which matrix was read: `X`, `raw/X`, `layers/<name>`, a genome group or the MTX file. */
  matrix: string;
  values: ValuesKind;
  genomes?: string[];
  featureTypes?: Record<string, number>;
  renamedGenes: number;
}

/** What a file holds, its matrix not yet loaded: what reading and inspecting share. */
interface DatasetLayout extends TenxLayout {
  format: DatasetFormat;
  matrix: string;
  genomes?: string[];
}

async function mtxLayout(files: MtxFiles): Promise<TenxLayout> {
  const [X, barcodeRows, featureRows] = await Promise.all([readMatrixMarket(files.matrix), readTsv(files.barcodes), readTsv(files.features)]);
  const hasTypes = featureRows.length > 0 && featureRows.every((row) => row.length >= 3);
  return tenxLayout(
    matrixInMemory(X),
    barcodeRows.map((row) => row[0]!),
    {
      ids: featureRows.map((row) => row[0]!),
      names: featureRows.map((row) => row[1] ?? row[0]!),
      types: hasTypes ? featureRows.map((row) => row[2]!) : undefined,
    },
    files.matrix.path,
  );
}

async function mtxFilesOf(path: string, kind: ContainerKind): Promise<MtxFiles> {
  switch (kind) {
    case 'directory':
      return locateMtxFiles(await listDirectory(path), path);
    case 'tar.gz':
    case 'tar':
      return locateMtxFiles(await readTarEntries(path, kind === 'tar.gz'), path);
    case 'zip':
      return locateMtxFiles(await readZipEntries(path), path);
    default:
      return filesBesideMatrix(path);
  }
}

function hdf5Layout(file: H5File, path: string, options: ReadOptions): DatasetLayout {
  const keys = file.keys();
  if (keys.includes('matrix') && isGroup(file.get('matrix'))) return { ...describeTenxV3(file), format: '10x-h5-v3', matrix: 'matrix' };
  if (tenxV2Genomes(file).length > 0) {
    const { genome, ...layout } = describeTenxV2(file, options.genome);
    return { ...layout, format: '10x-h5-v2', matrix: genome, genomes: tenxV2Genomes(file) };
  }
  if (keys.includes('obs') || keys.includes('X')) return { ...describeH5ad(file, options.layer), format: 'h5ad' };
  throw new DatasetError('unsupported_layout', `${path} is an HDF5 file but neither an h5ad (X, obs, var) nor a 10x matrix (top-level groups: ${keys.join(', ') || 'none'})`);
}

/**
 * Calls `use` with the layout of any supported dataset, detected from its bytes: h5ad, 10x HDF5 v2/v3, or a
 * 10x MTX folder, archive (.tar.gz, .tgz, .zip) or bare matrix.mtx; an HDF5 file stays open while `use` runs.
 * The checks every dataset passes come first: a non-empty matrix, unique cell barcodes.
 */
async function withLayout<T>(path: string, options: ReadOptions, use: (layout: DatasetLayout) => T | Promise<T>): Promise<T> {
  const kind = await detectContainer(path);
  const file = kind === 'hdf5' ? await openHdf5(path) : undefined;
  try {
    const layout: DatasetLayout = file ? hdf5Layout(file, path, options) : { ...(await mtxLayout(await mtxFilesOf(path, kind))), format: '10x-mtx', matrix: 'matrix.mtx' };
    const { X, obs } = layout;
    if (X.nRows === 0 || X.nCols === 0) {
      throw new DatasetError('empty', `${path} holds an empty matrix (${X.nRows} cells x ${X.nCols} genes)`);
    }
    const duplicate = firstDuplicate(obs.index);
    if (duplicate) {
      throw new DatasetError(
        'invalid_value',
        `cell barcode "${duplicate.name}" appears twice (cells ${duplicate.first + 1} and ${duplicate.second + 1}); cell names must be unique (anndata: adata.obs_names_make_unique())`,
      );
    }
    return await use(layout);
  } finally {
    file?.close();
  }
}

function assertValues(nnz: number, X: StoredMatrix, path: string): void {
  if (nnz === 0) throw new DatasetError('empty', `${path} holds ${X.nRows} cells x ${X.nCols} genes but not one nonzero value`);
}

/** What readDataset reports of a dataset besides its matrix. */
function described(layout: DatasetLayout): Omit<ReadResult, 'data'> & { var: Frame } {
  const unique = makeUnique(layout.var.index);
  return {
    var: { index: unique.names, columns: layout.var.columns },
    format: layout.format,
    matrix: layout.matrix,
    values: classifySample(layout.X.sampleValues()),
    ...(layout.genomes ? { genomes: layout.genomes } : {}),
    ...(layout.featureTypes ? { featureTypes: layout.featureTypes } : {}),
    renamedGenes: unique.renamed,
  };
}

/** Reads any supported dataset (see withLayout); gene names come out unique. */
export async function readDataset(path: string, options: ReadOptions = {}): Promise<ReadResult> {
  return withLayout(path, options, (layout) => {
    const { X: stored, keep, obs } = layout;
    const all = stored.read();
    const X = keep ? selectColumns(all, keep) : all;
    assertValues(X.data.length, stored, path);
    const { var: variables, ...rest } = described(layout);
    return { data: { X, obs, var: variables }, ...rest };
  });
}

/** A dataset as readDataset reports it, its matrix left in the file to be read a block of rows at a time. */
export interface DatasetBlocks extends Omit<ReadResult, 'data'> {
  readonly X: RowBlocks;
  readonly obs: Frame;
  readonly var: Frame;
}

/** Calls `use` with a dataset whose matrix is read by rows in bounded memory (./row-blocks.ts); the file stays open while `use` runs. */
export async function withDatasetBlocks<T>(path: string, options: ReadOptions, use: (dataset: DatasetBlocks) => T | Promise<T>): Promise<T> {
  return withLayout(path, options, (layout) => {
    const { X: stored, keep, obs } = layout;
    assertValues(stored.countValues(keep), stored, path);
    return use({ X: keep ? subsetBlocks(stored, null, keep) : stored, obs, ...described(layout) });
  });
}

/** The summary the CLI's `inspect` and the upload endpoint report. */
export interface InspectSummary {
  format: DatasetFormat;
  n_obs: number;
  n_vars: number;
  nnz: number;
  matrix: string;
  values: ValuesKind;
  obs_columns: string[];
  var_columns: string[];
  genomes?: string[];
  feature_types?: Record<string, number>;
  renamed_genes: number;
}

/**
 * What `readDataset` would report, without loading the matrix of an HDF5 file: its values are counted and
 * sampled a slice at a time, so memory stays bounded whatever the file's size (an MTX matrix is parsed whole).
 */
export async function inspectDataset(path: string, options: ReadOptions = {}): Promise<InspectSummary> {
  return withLayout(path, options, (layout) => {
    const nnz = layout.X.countValues(layout.keep);
    assertValues(nnz, layout.X, path);
    return {
      format: layout.format,
      n_obs: layout.X.nRows,
      n_vars: layout.keep ? layout.keep.length : layout.X.nCols,
      nnz,
      matrix: layout.matrix,
      values: classifySample(layout.X.sampleValues()),
      obs_columns: [...layout.obs.columns.keys()],
      var_columns: [...layout.var.columns.keys()],
      ...(layout.genomes ? { genomes: layout.genomes } : {}),
      ...(layout.featureTypes ? { feature_types: layout.featureTypes } : {}),
      renamed_genes: makeUnique(layout.var.index).renamed,
    };
  });
}
