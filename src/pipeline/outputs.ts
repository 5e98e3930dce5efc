/** The result files: each one's writer, the result AnnData, and the manifest. */
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { csvChunks, toCsv } from '../io/csv.js';
import { encodeEmbedding, type CellColumn } from '../io/embedding-file.js';
import { writeExpressionFile } from '../io/expression-file.js';
import { writeH5ad, type AnnDataToWrite, type UnsValue } from '../io/h5ad-write.js';
import type { RowBlocks } from '../io/row-blocks.js';
import type { AnnData, Column, DenseMatrix, Frame } from '../io/types.js';
import type { MarkerTable } from '../markers/wilcoxon.js';
import { TERM_NAMES, type EpochReport } from '../model/index.js';
import { lossPng } from '../plot/loss.js';
import { categoryColors } from '../plot/palette.js';
import { umapPng } from '../plot/umap.js';
import type { Covariate } from './covariates.js';
import { conditionUmapName, resultFileNames, type ResultFileName } from './result-files.js';
import type { PipelineManifest } from './types.js';

/** Clusters numbered by size (largest first, as Seurat and scanpy's Leiden do), or named by label. */
export interface ClusterAssignment {
  readonly names: string[];
  /** Cluster index per cell, into `names`. */
  readonly codes: Int32Array;
  /** Model component of each cluster. */
  readonly components: number[];
  readonly sizes: number[];
}

export function assignClusters(components: Int32Array, nComponents: number, labelNames: readonly string[] | null): ClusterAssignment {
  const counts = new Array<number>(nComponents).fill(0);
  for (const k of components) counts[k]!++;
  const used = counts.flatMap((n, k) => (n > 0 ? [k] : [])).sort((a, b) => counts[b]! - counts[a]! || a - b);
  const clusterOf = new Int32Array(nComponents).fill(-1);
  used.forEach((k, i) => (clusterOf[k] = i));
  return {
    names: used.map((k, i) => (labelNames ? labelNames[k]! : String(i))),
    codes: components.map((k) => clusterOf[k]!),
    components: used,
    sizes: used.map((k) => counts[k]!),
  };
}

export function numericColumn(values: ArrayLike<number>): Column {
  return { kind: 'numeric', values: Float64Array.from(values) };
}

function covariateColumn(covariate: Covariate): Column {
  return { kind: 'categorical', categories: covariate.categories, codes: covariate.codes, ordered: false };
}

const label = (covariate: Covariate, cell: number) => covariate.categories[covariate.codes[cell]!] ?? '';

/** QC metrics carried into the cell table and the embedding file, scanpy's names. */
const QC_COLUMNS = ['total_counts', 'n_genes_by_counts', 'pct_counts_mt'];

/** The QC metrics of QC_COLUMNS that obs holds. */
function qcMetrics(obs: Frame): { name: string; values: Float64Array }[] {
  return QC_COLUMNS.flatMap((name) => {
    const column = obs.columns.get(name);
    return column?.kind === 'numeric' ? [{ name, values: column.values }] : [];
  });
}

/** The annotated cell table: barcode, cluster, its probability, UMAP, covariates and QC metrics. */
function cellsCsv(obs: Frame, clusters: ClusterAssignment, probability: Float32Array, umap: DenseMatrix, covariates: readonly Covariate[]): Iterable<string> {
  const qc = qcMetrics(obs);
  const header = ['barcode', 'cluster', 'cluster_probability', 'umap_1', 'umap_2', ...covariates.map((c) => c.name), ...qc.map((c) => c.name)];
  return csvChunks(
    header,
    eachCell(obs.index, (barcode, i) => [
      barcode,
      clusters.names[clusters.codes[i]!]!,
      probability[i]!,
      umap.data[2 * i]!,
      umap.data[2 * i + 1]!,
      ...covariates.map((c) => label(c, i)),
      ...qc.map((c) => c.values[i]!),
    ]),
  );
}

/** μ_z per cell. */
function latentCsv(barcodes: readonly string[], latent: DenseMatrix): Iterable<string> {
  const header = ['barcode', ...Array.from({ length: latent.nCols }, (_, j) => `z_${j + 1}`)];
  return csvChunks(
    header,
    eachCell(barcodes, (barcode, i) => [barcode, ...latent.data.subarray(i * latent.nCols, (i + 1) * latent.nCols)]),
  );
}

/** One table row per cell, made as it is written. */
function* eachCell<T>(barcodes: readonly string[], row: (barcode: string, cell: number) => T): Generator<T> {
  for (let i = 0; i < barcodes.length; i++) yield row(barcodes[i]!, i);
}

/** Loss terms per epoch, on the training and (when held out) validation cells. */
function trainingCsv(history: readonly EpochReport[]): string {
  const terms = ['total', ...TERM_NAMES] as const;
  const header = ['epoch', 'learning_rate', ...terms.map((t) => `train_${t}`), ...terms.map((t) => `validation_${t}`), 'seconds'];
  return toCsv(
    header,
    history.map((e) => [e.epoch, e.learningRate, ...terms.map((t) => e.train[t]), ...terms.map((t) => e.validation?.[t] ?? NaN), e.seconds]),
  );
}

function markersCsv(markers: MarkerTable, clusterNames: readonly string[]): string {
  return toCsv(
    ['cluster', 'rank', 'gene', 'score', 'logfoldchange', 'pval', 'pval_adj', 'pct_in', 'pct_out'],
    markers.gene.map((gene, i) => [
      clusterNames[markers.group[i]!]!,
      markers.rank[i]!,
      gene,
      markers.score[i]!,
      markers.logFoldChange[i]!,
      markers.pval[i]!,
      markers.pvalAdj[i]!,
      markers.pctIn[i]!,
      markers.pctOut[i]!,
    ]),
  );
}

/** The marker table as a data frame for `uns`, with scanpy's column names. */
function markersFrame(markers: MarkerTable, clusterNames: readonly string[]): Frame {
  return {
    index: markers.gene.map((_, i) => String(i)),
    columns: new Map<string, Column>([
      ['group', { kind: 'categorical', categories: [...clusterNames], codes: markers.group, ordered: false }],
      ['rank', numericColumn(markers.rank)],
      ['names', { kind: 'string', values: markers.gene }],
      ['scores', numericColumn(markers.score)],
      ['logfoldchanges', numericColumn(markers.logFoldChange)],
      ['pvals', numericColumn(markers.pval)],
      ['pvals_adj', numericColumn(markers.pvalAdj)],
      ['pct_nz_group', numericColumn(markers.pctIn)],
      ['pct_nz_reference', numericColumn(markers.pctOut)],
    ]),
  };
}

/** JSON-like values as `uns` entries: nulls dropped, number arrays typed, nested objects kept. */
function toUns(value: unknown): UnsValue | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    return value.every((v) => typeof v === 'number') ? Float64Array.from(value as number[]) : value.map(String);
  }
  if (typeof value === 'object') {
    const out: Record<string, UnsValue> = {};
    for (const [key, item] of Object.entries(value)) {
      const converted = toUns(item);
      if (converted !== undefined) out[key] = converted;
    }
    return out;
  }
  return undefined;
}

/** embedding.bin: the UMAP with what the page colours it by (the cell table's columns, as typed arrays). */
function embeddingFile(results: RunResults): Uint8Array {
  const { cells: data, clusters } = results;
  const categorical = (covariate: Covariate, role: CellColumn['role']): CellColumn => ({ kind: 'categorical', name: covariate.name, role, categories: covariate.categories, codes: covariate.codes });
  const columns: CellColumn[] = [
    { kind: 'categorical', name: 'cluster', role: 'cluster', categories: clusters.names, codes: clusters.codes },
    ...results.conditions.map((c) => categorical(c, 'condition')),
    ...(results.label ? [categorical(results.label, 'label')] : []),
    { kind: 'numeric', name: 'cluster_probability', role: 'score', values: results.probability },
    ...qcMetrics(data.obs).map((qc): CellColumn => ({ kind: 'numeric', name: qc.name, role: 'qc', values: Float32Array.from(qc.values) })),
  ];
  return encodeEmbedding({ embedding: 'X_umap', coords: results.umap.data, barcodes: data.obs.index, columns });
}

/** The preprocessed cells: obs with QC metrics, var with HVG columns, and the kept cells x genes read by blocks (a million cells do not fit in memory). */
export interface ResultCells {
  readonly obs: Frame;
  readonly var: Frame;
  /** Log-normalised. */
  readonly X: RowBlocks;
  readonly counts: RowBlocks;
}

/** What the result files are made of. */
export interface RunResults {
  readonly cells: ResultCells;
  readonly clusters: ClusterAssignment;
  /** q(y) of each cell's cluster. */
  readonly probability: Float32Array;
  readonly latent: DenseMatrix;
  readonly latentW: DenseMatrix;
  readonly umap: DenseMatrix;
  readonly conditions: readonly Covariate[];
  readonly label?: Covariate;
  readonly markers: MarkerTable;
  readonly history: readonly EpochReport[];
  /** What uns['cgmvae'] records: parameters, versions, cluster names and components. */
  readonly provenance: Record<string, unknown>;
}

function covariatesOf(results: RunResults): Covariate[] {
  return results.label ? [...results.conditions, results.label] : [...results.conditions];
}

/** The result h5ad: the preprocessed data with clusters, covariates, embeddings, markers and colours. */
export function resultAnnData(results: RunResults): AnnDataToWrite {
  const { cells: data, clusters } = results;
  const obsColumns = new Map<string, Column>(data.obs.columns);
  for (const covariate of covariatesOf(results)) obsColumns.set(covariate.name, covariateColumn(covariate));
  obsColumns.set('cgmvae_cluster', { kind: 'categorical', categories: clusters.names, codes: clusters.codes, ordered: false });
  obsColumns.set('cgmvae_cluster_prob', numericColumn(results.probability));
  return {
    X: data.X,
    layers: new Map([['counts', data.counts]]),
    obs: { index: data.obs.index, columns: obsColumns },
    var: data.var,
    obsm: new Map(Object.entries({ X_cgmvae: results.latent, X_cgmvae_w: results.latentW, X_umap: results.umap })),
    uns: {
      ...(toUns({ cgmvae: results.provenance }) as object),
      default_embedding: 'X_umap',
      cgmvae_cluster_colors: categoryColors(clusters.names.length),
      cgmvae_markers: markersFrame(results.markers, clusters.names),
    } as AnnData['uns'],
  };
}

const UMAP_AXES: [string, string] = ['UMAP1', 'UMAP2'];

type Writer = (path: string, results: RunResults) => Promise<void>;
const whole = (render: (results: RunResults) => string | Uint8Array | Iterable<string>): Writer => (path, results) => writeFileAtomic(path, render(results));

/** Every fixed result file's writer (the manifest is written last, by writeManifest). */
const WRITERS: Record<Exclude<ResultFileName, 'manifest.json'>, Writer> = {
  'result.h5ad': (path, results) => writeH5ad(path, resultAnnData(results)),
  'cells.csv': whole((r) => cellsCsv(r.cells.obs, r.clusters, r.probability, r.umap, covariatesOf(r))),
  'markers.csv': whole((r) => markersCsv(r.markers, r.clusters.names)),
  'latent.csv': whole((r) => latentCsv(r.cells.obs.index, r.latent)),
  'training.csv': whole((r) => trainingCsv(r.history)),
  'umap.png': whole((r) =>
    umapPng(r.umap, r.clusters.codes, r.clusters.names, { title: `c*GMΔVÆ clusters (${r.cells.obs.index.length} cells)`, colors: categoryColors(r.clusters.names.length), axisLabels: UMAP_AXES }),
  ),
  'embedding.bin': whole(embeddingFile),
  'expression.bin': (path, r) => writeExpressionFile(path, r.cells.X, r.cells.var.index),
  'loss.png': whole((r) =>
    lossPng(
      r.history.map((e) => ({ epoch: e.epoch, terms: { total: e.train.total, ...Object.fromEntries(Object.entries(e.train).filter(([k]) => k !== 'total')) } })),
      { title: 'Training loss per epoch' },
    ),
  ),
};

/** Writes every result file but the manifest into `outDir`; returns the names of all, manifest.json included. */
export async function writeResults(outDir: string, results: RunResults, onProgress: (fraction: number, file: string) => void = () => {}): Promise<string[]> {
  const writers = Object.entries(WRITERS);
  const nFiles = writers.length + results.conditions.length;
  for (const [i, [name, write]] of writers.entries()) {
    onProgress(i / nFiles, name);
    await write(join(outDir, name), results);
  }
  for (const [i, condition] of results.conditions.entries()) {
    onProgress((writers.length + i) / nFiles, conditionUmapName(condition.name));
    const png = umapPng(results.umap, condition.codes, condition.categories, { title: `UMAP coloured by ${condition.name}`, axisLabels: UMAP_AXES });
    await writeFileAtomic(join(outDir, conditionUmapName(condition.name)), png);
  }
  return resultFileNames(results.conditions.map((c) => c.name));
}

export async function writeManifest(outDir: string, manifest: PipelineManifest): Promise<void> {
  await writeFileAtomic(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}
