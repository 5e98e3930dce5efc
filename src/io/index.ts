import { DatasetError } from './errors.js';
import { detectContainer, type ContainerKind } from './detect.js';
import { readH5ad } from './h5ad.js';
import { isGroup, openHdf5 } from './hdf5.js';
import { filesBesideMatrix, listDirectory, locateMtxFiles, readMatrixMarket, readTsv, type MtxFiles } from './mtx.js';
import { readTarEntries, readZipEntries } from './archive.js';
import { firstDuplicate, makeUnique } from './names.js';
import { assembleTenx, readTenxV2, readTenxV3, tenxV2Genomes, type TenxData } from './tenx.js';
import { classifyValues } from './values.js';
import type { AnnData, ValuesKind } from './types.js';

export type { AnnData, Column, CsrMatrix, DenseMatrix, Frame, ValuesKind } from './types.js';
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

async function readMtx(files: MtxFiles): Promise<Omit<TenxData, 'featureTypes'> & { featureTypes?: Record<string, number> }> {
  const [X, barcodeRows, featureRows] = await Promise.all([readMatrixMarket(files.matrix), readTsv(files.barcodes), readTsv(files.features)]);
  const hasTypes = featureRows.length > 0 && featureRows.every((row) => row.length >= 3);
  return assembleTenx(
    X,
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

async function readHdf5(path: string, options: ReadOptions): Promise<Omit<ReadResult, 'values' | 'renamedGenes'>> {
  const file = await openHdf5(path);
  try {
    const keys = file.keys();
    if (keys.includes('matrix') && isGroup(file.get('matrix'))) {
      const { X, obs, var: variables, featureTypes, genomes } = readTenxV3(file);
      return { data: { X, obs, var: variables }, format: '10x-h5-v3', matrix: 'matrix', genomes, featureTypes };
    }
    if (tenxV2Genomes(file).length > 0) {
      const { X, obs, var: variables, genome } = readTenxV2(file, options.genome);
      return { data: { X, obs, var: variables }, format: '10x-h5-v2', matrix: genome, genomes: tenxV2Genomes(file) };
    }
    if (keys.includes('obs') || keys.includes('X')) {
      const { X, obs, var: variables, matrix } = readH5ad(file, options.layer);
      return { data: { X, obs, var: variables }, format: 'h5ad', matrix };
    }
    throw new DatasetError('unsupported_layout', `${path} is an HDF5 file but neither an h5ad (X, obs, var) nor a 10x matrix (top-level groups: ${keys.join(', ') || 'none'})`);
  } finally {
    file.close();
  }
}

/**
 * Reads any supported dataset, detected from its bytes: h5ad, 10x HDF5 v2/v3, or a 10x MTX
 * folder, archive (.tar.gz, .tgz, .zip) or bare matrix.mtx. Gene names come out unique.
 */
export async function readDataset(path: string, options: ReadOptions = {}): Promise<ReadResult> {
  const kind = await detectContainer(path);
  const read =
    kind === 'hdf5'
      ? await readHdf5(path, options)
      : await (async () => {
          const { X, obs, var: variables, featureTypes } = await readMtx(await mtxFilesOf(path, kind));
          return { data: { X, obs, var: variables }, format: '10x-mtx' as const, matrix: 'matrix.mtx', featureTypes };
        })();
  const { X, obs } = read.data;
  if (X.nRows === 0 || X.nCols === 0) {
    throw new DatasetError('empty', `${path} holds an empty matrix (${X.nRows} cells x ${X.nCols} genes)`);
  }
  if (X.data.length === 0) throw new DatasetError('empty', `${path} holds ${X.nRows} cells x ${X.nCols} genes but not one nonzero value`);
  const duplicate = firstDuplicate(obs.index);
  if (duplicate) {
    throw new DatasetError(
      'invalid_value',
      `cell barcode "${duplicate.name}" appears twice (cells ${duplicate.first + 1} and ${duplicate.second + 1}); cell names must be unique (anndata: adata.obs_names_make_unique())`,
    );
  }
  const unique = makeUnique(read.data.var.index);
  return {
    ...read,
    data: { ...read.data, var: { index: unique.names, columns: read.data.var.columns } },
    values: classifyValues(X),
    renamedGenes: unique.renamed,
  };
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

export function summarize(result: ReadResult): InspectSummary {
  const { X, obs, var: variables } = result.data;
  return {
    format: result.format,
    n_obs: X.nRows,
    n_vars: X.nCols,
    nnz: X.data.length,
    matrix: result.matrix,
    values: result.values,
    obs_columns: [...obs.columns.keys()],
    var_columns: [...variables.columns.keys()],
    ...(result.genomes ? { genomes: result.genomes } : {}),
    ...(result.featureTypes ? { feature_types: result.featureTypes } : {}),
    renamed_genes: result.renamedGenes,
  };
}

export async function inspectDataset(path: string, options: ReadOptions = {}): Promise<InspectSummary> {
  return summarize(await readDataset(path, options));
}
