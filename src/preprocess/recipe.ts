/** The product's preprocessing recipe: QC, normalize_total, log1p and highly variable genes, in scanpy's order. */
import { subsetFrame, withColumns, asCategories } from '../io/frame.js';
import { submatrix } from '../io/sparse.js';
import type { AnnData, Column } from '../io/types.js';
import { classifyValues } from '../io/values.js';
import { PreprocessError } from './errors.js';
import { HVG_BOOLEAN_COLUMNS, HVG_COLUMN_ORDER, highlyVariableGenes, type HvgColumns, type HvgFlavor, type HvgOptions } from './hvg.js';
import { describeValues, log1p, normalizeTotal, type Log1pRecord, type NormalizeRecord } from './normalize.js';
import { flaggedIndices, geneSetMask, MITO_PATTERN, qcFilter, type QcFilters, type QcResult } from './qc.js';

/** Everything `preprocess` does; src/pipeline/params.ts builds it from the parameters (min_genes is minGenes, ...). */
export interface PreprocessOptions extends QcFilters, Omit<HvgOptions, 'batch' | 'log1pBase' | 'valuesKind' | 'flavor'> {
  readonly flavor: HvgFlavor;
  /** normalize_total's target: a number, or 'median' of the cells' totals. */
  readonly targetSum: number | 'median';
  readonly excludeHighlyExpressed?: boolean;
  readonly maxFraction?: number;
  /** log1p base; natural log when omitted. */
  readonly logBase?: number;
  /** An obs column naming each cell's batch. */
  readonly batchKey?: string;
  /** Gene set whose share of counts is `pct_counts_mt` (default `^MT-` or `^mt-`). */
  readonly geneSetPattern?: RegExp;
}

/** The steps of `preprocess`, announced as each begins. */
export type PreprocessStep = 'qc' | 'normalize' | 'hvg';

export interface PreprocessResult {
  /** QC metrics of every input cell and whether it was kept. */
  readonly qc: QcResult;
  /** The kept cells and genes: X log-normalised, layers.counts the counts, var with the HVG columns. */
  readonly data: AnnData;
  readonly hvg: HvgColumns;
  readonly normalize: NormalizeRecord;
  readonly log1p: Log1pRecord;
  readonly summary: PreprocessSummary;
}

export interface PreprocessSummary {
  readonly cells: { readonly input: number; readonly kept: number };
  readonly genes: { readonly input: number; readonly kept: number };
  readonly targetSum: number;
  readonly logBase: number | null;
  readonly flavor: HvgFlavor;
  readonly highlyVariable: number;
  readonly batches?: number;
}

/**
 * QC (metrics, filters), normalize_total, log1p and highly variable genes on a dataset of counts,
 * in scanpy's order. The input is not modified.
 */
export function preprocess(data: AnnData, options: PreprocessOptions, onStep: (step: PreprocessStep) => void = () => {}): PreprocessResult {
  const kind = classifyValues(data.X);
  if (kind !== 'counts') {
    throw new PreprocessError(
      `preprocess needs raw counts, but the matrix holds ${describeValues(kind, data.X)}; read the counts instead (an h5ad's counts layer or raw/X)`,
    );
  }
  const { flavor, batchKey } = options;
  const batchOfCell = batchKey === undefined ? undefined : asCategories(data.obs, batchKey, 'batch_key').codes;
  onStep('qc');
  const qc = qcFilter(data.X, geneSetMask(data.var.index, options.geneSetPattern ?? MITO_PATTERN), options);
  const cells = flaggedIndices(qc.keepCells);
  const genes = flaggedIndices(qc.keepGenes);
  if (data.X.nRows < 2) throw new PreprocessError(`the dataset holds ${data.X.nRows} cell; clustering needs at least 2`);
  if (cells.length < 2 || genes.length === 0) {
    throw new PreprocessError(
      `the QC filters keep ${cells.length} of ${data.X.nRows} cells and ${genes.length} of ${data.X.nCols} genes; loosen them`,
    );
  }
  const counts = submatrix(data.X, cells, genes);
  const batch = batchOfCell && Int32Array.from(cells, (r) => batchOfCell[r]!);
  onStep('normalize');
  const normalized = normalizeTotal(counts, {
    targetSum: options.targetSum,
    excludeHighlyExpressed: options.excludeHighlyExpressed,
    maxFraction: options.maxFraction,
    valuesKind: 'counts',
  });
  // the normalised values are a fresh array, so log1p may overwrite them
  const logged = log1p(normalized.matrix, { base: options.logBase, inPlace: true, valuesKind: 'other' });
  onStep('hvg');
  const hvgOptions = { ...options, flavor, batch };
  const hvg =
    flavor === 'seurat_v3' || flavor === 'seurat_v3_paper'
      ? highlyVariableGenes(counts, { ...hvgOptions, valuesKind: 'counts' })
      : highlyVariableGenes(logged.matrix, { ...hvgOptions, log1pBase: logged.record.base, valuesKind: 'lognorm' });
  const result: AnnData = {
    // X shares indptr and indices with layers.counts
    X: logged.matrix,
    layers: new Map([['counts', counts]]),
    obs: withColumns(subsetFrame(data.obs, cells), {
      total_counts: numeric(qc.cells.totalCounts, cells),
      n_genes_by_counts: numeric(qc.cells.nGenesByCounts, cells),
      pct_counts_mt: numeric(qc.cells.pctCountsInSet, cells),
    }),
    var: withColumns(subsetFrame(data.var, genes), {
      n_cells_by_counts: numeric(qc.genes.nCellsByCounts, genes),
      ...hvgFrameColumns(hvg),
    }),
    uns: { ...data.uns, normalize_total: normalized.record, log1p: logged.record, hvg: { flavor } },
  };
  return {
    qc,
    data: result,
    hvg,
    normalize: normalized.record,
    log1p: logged.record,
    summary: {
      cells: { input: data.X.nRows, kept: cells.length },
      genes: { input: data.X.nCols, kept: genes.length },
      targetSum: normalized.record.targetSum,
      logBase: logged.record.base,
      flavor,
      highlyVariable: hvg.highly_variable.reduce((n, f) => n + f, 0),
      ...(batch ? { batches: new Set(batch).size } : {}),
    },
  };
}

function numeric(values: ArrayLike<number>, keep: Int32Array): Column {
  return { kind: 'numeric', values: Float64Array.from(keep, (i) => values[i]!) };
}

function hvgFrameColumns(hvg: HvgColumns): Record<string, Column> {
  const out: Record<string, Column> = {};
  for (const name of HVG_COLUMN_ORDER) {
    const values = hvg[name];
    if (!values) continue;
    out[name] = HVG_BOOLEAN_COLUMNS.has(name) ? { kind: 'boolean', values: values as Uint8Array } : { kind: 'numeric', values: Float64Array.from(values) };
  }
  return out;
}
