import { toCsv } from '../io/csv.js';
import type { Column, DenseMatrix, Frame } from '../io/types.js';
import type { UnsValue } from '../io/h5ad-write.js';
import type { MarkerTable } from '../markers/wilcoxon.js';
import type { EpochReport } from '../model/index.js';
import { TERM_NAMES } from '../model/index.js';
import type { Covariate } from './covariates.js';

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

export function covariateColumn(covariate: Covariate): Column {
  return { kind: 'categorical', categories: covariate.categories, codes: covariate.codes, ordered: false };
}

const label = (covariate: Covariate, cell: number) => covariate.categories[covariate.codes[cell]!] ?? '';

/** The annotated cell table: barcode, cluster, its probability, UMAP, covariates and QC metrics. */
export function cellsCsv(
  obs: Frame,
  clusters: ClusterAssignment,
  probability: Float32Array,
  umap: DenseMatrix,
  covariates: readonly Covariate[],
  qcColumns: readonly string[],
): string {
  const qc = qcColumns.flatMap((name) => {
    const column = obs.columns.get(name);
    return column?.kind === 'numeric' ? [{ name, values: column.values }] : [];
  });
  const header = ['barcode', 'cluster', 'cluster_probability', 'umap_1', 'umap_2', ...covariates.map((c) => c.name), ...qc.map((c) => c.name)];
  return toCsv(
    header,
    obs.index.map((barcode, i) => [
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
export function latentCsv(barcodes: readonly string[], latent: DenseMatrix): string {
  const header = ['barcode', ...Array.from({ length: latent.nCols }, (_, j) => `z_${j + 1}`)];
  return toCsv(
    header,
    barcodes.map((barcode, i) => [barcode, ...latent.data.subarray(i * latent.nCols, (i + 1) * latent.nCols)]),
  );
}

/** Loss terms per epoch, on the training and (when held out) validation cells. */
export function trainingCsv(history: readonly EpochReport[]): string {
  const terms = ['total', ...TERM_NAMES] as const;
  const header = ['epoch', 'learning_rate', ...terms.map((t) => `train_${t}`), ...terms.map((t) => `validation_${t}`), 'seconds'];
  return toCsv(
    header,
    history.map((e) => [e.epoch, e.learningRate, ...terms.map((t) => e.train[t]), ...terms.map((t) => e.validation?.[t] ?? NaN), e.seconds]),
  );
}

export function markersCsv(markers: MarkerTable, clusterNames: readonly string[]): string {
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
export function markersFrame(markers: MarkerTable, clusterNames: readonly string[]): Frame {
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
export function toUns(value: unknown): UnsValue | undefined {
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
