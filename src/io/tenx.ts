import type { File as H5File, Group as H5Group } from 'h5wasm';
import { DatasetError } from './errors.js';
import { child, isGroup, readNumeric, readStrings, requireDataset } from './hdf5.js';
import { selectColumns, validateCsr } from './sparse.js';
import type { Column, CsrMatrix, Frame } from './types.js';

/** The feature type scanpy keeps by default; others (antibodies, CRISPR guides) are reported, not mixed in. */
export const GENE_EXPRESSION = 'Gene Expression';

export interface TenxFeatures {
  ids: string[];
  names: string[];
  types?: string[];
  genomes?: string[];
}

export interface TenxData {
  X: CsrMatrix;
  obs: Frame;
  var: Frame;
  featureTypes?: Record<string, number>;
}

function categorical(values: readonly string[]): Column {
  const categories = [...new Set(values)].sort();
  const code = new Map(categories.map((c, i) => [c, i]));
  return { kind: 'categorical', categories, codes: Int32Array.from(values, (v) => code.get(v)!), ordered: false };
}

/**
 * Builds the dataset from a cells x features matrix: keeps Gene Expression features when the
 * file types its features, and names var by symbol with the ids as `gene_ids` (scanpy's layout).
 */
export function assembleTenx(X: CsrMatrix, barcodes: string[], features: TenxFeatures, what: string): TenxData {
  if (barcodes.length !== X.nRows) {
    throw new DatasetError('inconsistent_shape', `${what}: ${barcodes.length} barcodes for a matrix of ${X.nRows} cells`);
  }
  if (features.ids.length !== X.nCols || features.names.length !== X.nCols) {
    throw new DatasetError('inconsistent_shape', `${what}: ${features.ids.length} features for a matrix of ${X.nCols} features`);
  }
  let keep: number[] | undefined;
  let featureTypes: Record<string, number> | undefined;
  if (features.types) {
    featureTypes = {};
    for (const type of features.types) featureTypes[type] = (featureTypes[type] ?? 0) + 1;
    if (!featureTypes[GENE_EXPRESSION]) {
      throw new DatasetError('missing_element', `${what} holds no "${GENE_EXPRESSION}" features (it has: ${Object.keys(featureTypes).join(', ')})`);
    }
    if (featureTypes[GENE_EXPRESSION] !== features.types.length) {
      keep = features.types.flatMap((t, i) => (t === GENE_EXPRESSION ? [i] : []));
    }
  }
  const pick = <T>(values: readonly T[]) => (keep ? keep.map((i) => values[i]!) : [...values]);
  const columns = new Map<string, Column>([['gene_ids', { kind: 'string', values: pick(features.ids) }]]);
  if (features.types) columns.set('feature_types', categorical(pick(features.types)));
  if (features.genomes) columns.set('genome', categorical(pick(features.genomes)));
  return {
    X: keep ? selectColumns(X, Int32Array.from(keep)) : X,
    obs: { index: barcodes, columns: new Map() },
    var: { index: pick(features.names), columns },
    featureTypes,
  };
}

/** Reads a CellRanger matrix group: 10x stores features x cells as CSC, which is cells x features CSR. */
function readTenxMatrix(group: H5Group, what: string): CsrMatrix {
  const shape = readNumeric(requireDataset(group, 'shape', what), Float64Array);
  const [nFeatures, nCells] = [shape[0]!, shape[1]!];
  return validateCsr(
    {
      nRows: nCells,
      nCols: nFeatures,
      indptr: readNumeric(requireDataset(group, 'indptr', what), Int32Array),
      indices: readNumeric(requireDataset(group, 'indices', what), Int32Array),
      data: readNumeric(requireDataset(group, 'data', what), Float32Array),
    },
    what,
  );
}

/** Genome groups of a CellRanger v2 file: those that hold a matrix. */
export function tenxV2Genomes(file: H5File): string[] {
  return file.keys().filter((key) => {
    const node = file.get(key);
    return isGroup(node) && ['indptr', 'barcodes', 'genes'].every((k) => node.keys().includes(k));
  });
}

/** Reads a CellRanger v2 HDF5 file; with several genomes one must be chosen. */
export function readTenxV2(file: H5File, genome: string | undefined): TenxData & { genome: string } {
  const genomes = tenxV2Genomes(file);
  if (genome === undefined && genomes.length > 1) {
    throw new DatasetError('ambiguous_choice', `the file holds several genomes (${genomes.join(', ')}); choose one with the genome option`);
  }
  const chosen = genome ?? genomes[0]!;
  if (!genomes.includes(chosen)) {
    throw new DatasetError('missing_element', `the file has no genome "${chosen}"; it holds: ${genomes.join(', ')}`);
  }
  const group = file.get(chosen) as H5Group;
  const what = `genome "${chosen}"`;
  const names = child(group, 'gene_names') ? readStrings(requireDataset(group, 'gene_names', what)) : readStrings(requireDataset(group, 'genes', what));
  const features = { ids: readStrings(requireDataset(group, 'genes', what)), names };
  return { ...assembleTenx(readTenxMatrix(group, what), readStrings(requireDataset(group, 'barcodes', what)), features, what), genome: chosen };
}

/** Reads a CellRanger v3 HDF5 file (`/matrix` with a `features` group). */
export function readTenxV3(file: H5File): TenxData & { genomes: string[] } {
  const group = file.get('matrix') as H5Group;
  const featureGroup = child(group, 'features');
  if (!isGroup(featureGroup)) throw new DatasetError('missing_element', '"/matrix/features" is missing');
  const what = '"/matrix"';
  const features: TenxFeatures = {
    ids: readStrings(requireDataset(featureGroup, 'id', what)),
    names: readStrings(requireDataset(featureGroup, 'name', what)),
    types: child(featureGroup, 'feature_type') ? readStrings(requireDataset(featureGroup, 'feature_type', what)) : undefined,
    genomes: child(featureGroup, 'genome') ? readStrings(requireDataset(featureGroup, 'genome', what)) : undefined,
  };
  const data = assembleTenx(readTenxMatrix(group, what), readStrings(requireDataset(group, 'barcodes', what)), features, what);
  return { ...data, genomes: features.genomes ? [...new Set(features.genomes)] : [] };
}
