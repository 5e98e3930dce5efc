import type { File as H5File, Group as H5Group } from 'h5wasm';
import { DatasetError } from './errors.js';
import { child, isGroup, readNumeric, readStrings, requireDataset } from './hdf5.js';
import { compressedInFile, type StoredMatrix } from './stored-matrix.js';
import type { Column, Frame } from './types.js';

/** The feature type scanpy keeps by default; others (antibodies, CRISPR guides) are reported, not mixed in. */
export const GENE_EXPRESSION = 'Gene Expression';

export interface TenxFeatures {
  ids: string[];
  names: string[];
  types?: string[];
  genomes?: string[];
}

/** A 10x matrix left in its file (or in memory, from MTX) with the frames scanpy builds; `keep` lists the Gene Expression columns when others are stored. */
export interface TenxLayout {
  X: StoredMatrix;
  keep?: Int32Array;
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
 * The layout of a cells x features matrix: keeps Gene Expression features when the file types its
 * features, and names var by symbol with the ids as `gene_ids` (scanpy's layout).
 */
export function tenxLayout(X: StoredMatrix, barcodes: string[], features: TenxFeatures, what: string): TenxLayout {
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
    X,
    ...(keep ? { keep: Int32Array.from(keep) } : {}),
    obs: { index: barcodes, columns: new Map() },
    var: { index: pick(features.names), columns },
    featureTypes,
  };
}

/** A CellRanger matrix group: 10x stores features x cells as CSC, which is cells x features CSR. */
function tenxMatrix(group: H5Group, what: string): StoredMatrix {
  const shape = readNumeric(requireDataset(group, 'shape', what), Float64Array);
  const datasets = { data: requireDataset(group, 'data', what), indices: requireDataset(group, 'indices', what), indptr: requireDataset(group, 'indptr', what) };
  return compressedInFile(datasets, 'csr', shape[1]!, shape[0]!, what);
}

/** Genome groups of a CellRanger v2 file: those that hold a matrix. */
export function tenxV2Genomes(file: H5File): string[] {
  return file.keys().filter((key) => {
    const node = file.get(key);
    return isGroup(node) && ['indptr', 'barcodes', 'genes'].every((k) => node.keys().includes(k));
  });
}

/** A CellRanger v2 HDF5 file's layout; with several genomes one must be chosen. */
export function describeTenxV2(file: H5File, genome: string | undefined): TenxLayout & { genome: string } {
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
  return { ...tenxLayout(tenxMatrix(group, what), readStrings(requireDataset(group, 'barcodes', what)), features, what), genome: chosen };
}

/** A CellRanger v3 HDF5 file's layout (`/matrix` with a `features` group). */
export function describeTenxV3(file: H5File): TenxLayout & { genomes: string[] } {
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
  const layout = tenxLayout(tenxMatrix(group, what), readStrings(requireDataset(group, 'barcodes', what)), features, what);
  return { ...layout, genomes: features.genomes ? [...new Set(features.genomes)] : [] };
}
