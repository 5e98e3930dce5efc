/** The product's preprocessing recipe: QC, normalize_total, log1p and highly variable genes, in scanpy's order. */
import { subsetFrame, withColumns, asCategories } from '../io/frame.js';
import { gatherBlocks, inMemoryBlocks, mapBlocks, reportingBlocks, subsetBlocks, type RowBlocks } from '../io/row-blocks.js';
import { submatrix } from '../io/sparse.js';
import type { BlockCache } from '../io/block-cache.js';
import type { DatasetBlocks } from '../io/index.js';
import type { AnnData, Column, CsrMatrix, Frame } from '../io/types.js';
import { classifyValues } from '../io/values.js';
import { PreprocessError } from './errors.js';
import { HVG_BOOLEAN_COLUMNS, HVG_COLUMN_ORDER, highlyVariableGenes, type HvgColumns, type HvgFlavor, type HvgOptions } from './hvg.js';
import { describeValues, log1p, normalizeTotal, totalNormalizer, type Log1pRecord, type NormalizeRecord } from './normalize.js';
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

/** QC of `source` with the filters' errors; the kept cells and genes. */
function checkedQc(source: RowBlocks, geneNames: readonly string[], options: PreprocessOptions) {
  const qc = qcFilter(source, geneSetMask(geneNames, options.geneSetPattern ?? MITO_PATTERN), options);
  const cells = flaggedIndices(qc.keepCells);
  const genes = flaggedIndices(qc.keepGenes);
  if (source.nRows < 2) throw new PreprocessError(`the dataset holds ${source.nRows} cell; clustering needs at least 2`);
  if (cells.length < 2 || genes.length === 0) {
    throw new PreprocessError(`the QC filters keep ${cells.length} of ${source.nRows} cells and ${genes.length} of ${source.nCols} genes; loosen them`);
  }
  return { qc, cells, genes };
}

/** What QC, normalisation and HVG selection made of a dataset, besides its matrices. */
interface Made {
  readonly qc: QcResult;
  readonly cells: Int32Array;
  readonly genes: Int32Array;
  readonly hvg: HvgColumns;
  readonly normalize: NormalizeRecord;
  readonly log1p: Log1pRecord;
  readonly batch?: Int32Array;
}

/** The kept cells' obs with their QC metrics, the kept genes' var with the HVG columns, uns with the records, and the summary. */
function describe(data: Omit<AnnData, 'X'>, made: Made, flavor: HvgFlavor) {
  const { qc, cells, genes, hvg, batch } = made;
  return {
    obs: withColumns(subsetFrame(data.obs, cells), {
      total_counts: numeric(qc.cells.totalCounts, cells),
      n_genes_by_counts: numeric(qc.cells.nGenesByCounts, cells),
      pct_counts_mt: numeric(qc.cells.pctCountsInSet, cells),
    }),
    var: withColumns(subsetFrame(data.var, genes), {
      n_cells_by_counts: numeric(qc.genes.nCellsByCounts, genes),
      ...hvgFrameColumns(hvg),
    }),
    uns: { ...data.uns, normalize_total: made.normalize, log1p: made.log1p, hvg: { flavor } },
    summary: {
      cells: { input: qc.keepCells.length, kept: cells.length },
      genes: { input: qc.keepGenes.length, kept: genes.length },
      targetSum: made.normalize.targetSum,
      logBase: made.log1p.base,
      flavor,
      highlyVariable: hvg.highly_variable.reduce((n, f) => n + f, 0),
      ...(batch ? { batches: new Set(batch).size } : {}),
    } satisfies PreprocessSummary,
  };
}

const isV3 = (flavor: HvgFlavor) => flavor === 'seurat_v3' || flavor === 'seurat_v3_paper';

/** Each cell's batch code when `batchKey` names an obs column (checked before any pass over the matrix). */
function batchCodes(obs: Frame, batchKey: string | undefined): Int32Array | undefined {
  return batchKey === undefined ? undefined : asCategories(obs, batchKey, 'batch_key').codes;
}

const keptCodes = (codes: Int32Array | undefined, cells: Int32Array) => codes && Int32Array.from(cells, (r) => codes[r]!);

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
  const { flavor } = options;
  const batchOfCell = batchCodes(data.obs, options.batchKey);
  onStep('qc');
  const { qc, cells, genes } = checkedQc(inMemoryBlocks(data.X), data.var.index, options);
  const counts = submatrix(data.X, cells, genes);
  const batch = keptCodes(batchOfCell, cells);
  onStep('normalize');
  const normalized = normalizeTotal(counts, { ...normalizeOptions(options), valuesKind: 'counts' });
  // the normalised values are a fresh array, so log1p may overwrite them
  const logged = log1p(normalized.matrix, { base: options.logBase, inPlace: true, valuesKind: 'other' });
  onStep('hvg');
  const hvgOptions = { ...options, flavor, batch };
  const hvg = isV3(flavor)
    ? highlyVariableGenes(counts, { ...hvgOptions, valuesKind: 'counts' })
    : highlyVariableGenes(logged.matrix, { ...hvgOptions, log1pBase: logged.record.base, valuesKind: 'lognorm' });
  const made: Made = { qc, cells, genes, hvg, normalize: normalized.record, log1p: logged.record, batch };
  const { obs, var: variables, uns, summary } = describe(data, made, flavor);
  return {
    qc,
    // X shares indptr and indices with layers.counts
    data: { X: logged.matrix, layers: new Map([['counts', counts]]), obs, var: variables, uns },
    hvg,
    normalize: normalized.record,
    log1p: logged.record,
    summary,
  };
}

/** What preprocessHighlyVariable makes: preprocess's result with only the highly variable genes' values in memory. */
export interface HighlyVariableResult extends Omit<PreprocessResult, 'data'> {
  /** The kept cells' obs and the kept genes' var, as preprocess's `data` has them. */
  readonly obs: Frame;
  readonly var: Frame;
  readonly uns: Record<string, unknown>;
  /** The highly variable genes (positions among the kept genes, in order). */
  readonly highlyVariable: Int32Array;
  /** Kept cells x highly variable genes: the counts, and their log-normalised values (as preprocess's X has them). */
  readonly counts: CsrMatrix;
  readonly X: CsrMatrix;
  /** Kept cells x every kept gene, by blocks (from the cache when one was given): the counts, and their log-normalised values computed block by block. */
  readonly kept: { readonly counts: RowBlocks; readonly X: RowBlocks };
}

/** A dataset whose matrix is read by blocks of rows; `values` is its values kind as the reader classified a sample. */
export type DatasetInBlocks = Pick<DatasetBlocks, 'X' | 'obs' | 'var' | 'values'>;

/** How preprocessHighlyVariable runs its passes: steps announced, and a cache for the kept cells and genes (read in every pass after QC, and by the result's `kept`; its maker disposes of it). */
export interface BlockPasses {
  readonly onStep?: (step: PreprocessStep) => void;
  /** The share of the current pass's rows read, after each block. */
  readonly onPass?: (fraction: number) => void;
  readonly cache?: (kept: RowBlocks) => BlockCache;
}

/**
 * preprocess for a matrix read in blocks of rows (a file's, in bounded memory): the same QC, normalisation and
 * HVG selection in passes over the blocks, keeping in memory only the highly variable genes of the kept cells.
 */
export function preprocessHighlyVariable(data: DatasetInBlocks, options: PreprocessOptions, run: BlockPasses = {}): HighlyVariableResult {
  const { onStep = () => {}, onPass, cache } = run;
  const reporting = (source: RowBlocks) => (onPass ? reportingBlocks(source, onPass) : source);
  if (data.values !== 'counts') throw new PreprocessError(`preprocess needs raw counts, but the matrix holds ${data.values} values; read the counts instead (an h5ad's counts layer or raw/X)`);
  const batchOfCell = batchCodes(data.obs, options.batchKey);
  onStep('qc');
  // QC's one pass sees every stored value, so the passes after it need not check them again.
  const { qc, cells, genes } = checkedQc(reporting(countsOnly(data.X)), data.var.index, options);
  const kept = subsetBlocks(data.X, qc.keepCells, genes);
  const counts = cache?.(kept) ?? kept;
  const { logNormalise, ...result } = highlyVariableOfKept(data, options, onStep, { qc, cells, genes }, reporting(counts), keptCodes(batchOfCell, cells));
  return { ...result, kept: { counts, X: mapBlocks(counts, logNormalise) } };
}

/** The passes of preprocessHighlyVariable after QC, over the counts of the kept cells and genes. */
function highlyVariableOfKept(
  data: DatasetInBlocks,
  options: PreprocessOptions,
  onStep: (step: PreprocessStep) => void,
  { qc, cells, genes }: ReturnType<typeof checkedQc>,
  counts: RowBlocks,
  batch: Int32Array | undefined,
): Omit<HighlyVariableResult, 'kept'> & { logNormalise: (block: CsrMatrix, first: number) => Float32Array } {
  const { flavor } = options;
  onStep('normalize');
  const normalizer = totalNormalizer(counts, normalizeOptions(options));
  const log1pRecord: Log1pRecord = { base: options.logBase ?? null };
  const logOf = (normalised: CsrMatrix) => log1p(normalised, { base: options.logBase, inPlace: true, valuesKind: 'other' }).matrix.data;
  const logNormalise = (block: CsrMatrix, first: number) => logOf({ ...block, data: normalizer.scale(block, first) });
  onStep('hvg');
  const hvgOptions = { ...options, flavor, batch };
  const hvg = isV3(flavor) ? highlyVariableGenes(counts, hvgOptions) : highlyVariableGenes(mapBlocks(counts, logNormalise), { ...hvgOptions, log1pBase: log1pRecord.base });
  const highlyVariable = flaggedIndices(hvg.highly_variable);
  const hvgCounts = gatherBlocks(subsetBlocks(counts, null, highlyVariable));
  const X = { ...hvgCounts, data: logNormalise(hvgCounts, 0) };
  const made: Made = { qc, cells, genes, hvg, normalize: normalizer.record, log1p: log1pRecord, batch };
  const { obs, var: variables, uns, summary } = describe(data, made, flavor);
  return { qc, hvg, normalize: normalizer.record, log1p: log1pRecord, summary, obs, var: variables, uns, highlyVariable, counts: hvgCounts, X, logNormalise };
}

/** The blocks of `source`, refused at the first value that is not a count: the reader classified a sample of them. */
function countsOnly(source: RowBlocks): RowBlocks {
  return mapBlocks(source, ({ indptr, data }, first) => {
    for (let k = 0; k < data.length; k++) {
      const value = data[k]!;
      if (value >= 0 && Number.isInteger(value)) continue;
      let row = 0;
      while (indptr[row + 1]! <= k) row++;
      throw new PreprocessError(`preprocess needs raw counts, but cell ${first + row + 1} holds ${value}; read the counts instead (an h5ad's counts layer or raw/X)`);
    }
    return data;
  });
}

function normalizeOptions(options: PreprocessOptions) {
  return { targetSum: options.targetSum, excludeHighlyExpressed: options.excludeHighlyExpressed, maxFraction: options.maxFraction };
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
