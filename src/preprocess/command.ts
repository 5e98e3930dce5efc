import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { csvField } from '../io/csv.js';
import { asCategories, subsetFrame, withColumns } from '../io/frame.js';
import type { AnnData, Column } from '../io/types.js';
import { classifyValues } from '../io/values.js';
import { PreprocessError } from './errors.js';
import { HVG_FLAVORS, highlyVariableGenes, type HvgColumns, type HvgFlavor, type HvgOptions } from './hvg.js';
import { describeValues, log1p, normalizeTotal, type Log1pRecord, type NormalizeRecord } from './normalize.js';
import { flaggedIndices, geneSetMask, MITO_PATTERN, qcFilter, subsetCsr, type QcFilters, type QcResult } from './qc.js';

/** Options of `preprocess` (the CLI's flags in camelCase: --min-genes is minGenes, ...). */
export interface PreprocessOptions extends QcFilters, Omit<HvgOptions, 'batch' | 'log1pBase' | 'valuesKind'> {
  /** normalize_total's target: a number or 'median' (scanpy's default). */
  readonly targetSum?: number | 'median';
  readonly excludeHighlyExpressed?: boolean;
  readonly maxFraction?: number;
  /** log1p base; natural log when omitted. */
  readonly logBase?: number;
  /** An obs column naming each cell's batch. */
  readonly batchKey?: string;
  /** Gene set whose share of counts is `pct_counts_mt` (default `^MT-` or `^mt-`). */
  readonly geneSetPattern?: RegExp;
}

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
 * in scanpy's order and with its defaults. The input is not modified.
 */
export function preprocess(data: AnnData, options: PreprocessOptions = {}): PreprocessResult {
  const kind = classifyValues(data.X);
  if (kind !== 'counts') {
    throw new PreprocessError(
      `preprocess needs raw counts, but the matrix holds ${describeValues(kind, data.X)}; read the counts instead (an h5ad's counts layer or raw/X)`,
    );
  }
  const { flavor = 'seurat', batchKey } = options;
  const batchOfCell = batchKey === undefined ? undefined : asCategories(data.obs, batchKey, 'batch_key').codes;
  const qc = qcFilter(data.X, geneSetMask(data.var.index, options.geneSetPattern ?? MITO_PATTERN), options);
  const cells = flaggedIndices(qc.keepCells);
  const genes = flaggedIndices(qc.keepGenes);
  if (cells.length < 2 || genes.length === 0) {
    throw new PreprocessError(
      `the QC filters keep ${cells.length} of ${data.X.nRows} cells and ${genes.length} of ${data.X.nCols} genes; loosen them`,
    );
  }
  const counts = subsetCsr(data.X, cells, genes);
  const batch = batchOfCell && Int32Array.from(cells, (r) => batchOfCell[r]!);
  const normalized = normalizeTotal(counts, {
    targetSum: options.targetSum,
    excludeHighlyExpressed: options.excludeHighlyExpressed,
    maxFraction: options.maxFraction,
    valuesKind: 'counts',
  });
  // the normalised values are a fresh array, so log1p may overwrite them
  const logged = log1p(normalized.matrix, { base: options.logBase, inPlace: true, valuesKind: 'other' });
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

/**
 * The CLI's `preprocess` command: runs `preprocess` and writes `outDir/qc_cells.csv` (barcode,
 * total_counts, n_genes_by_counts, pct_counts_mt, kept) and `outDir/hvg.csv` (gene and scanpy's
 * HVG columns for the kept genes). Returns the result, whose `summary` the CLI prints as one JSON line.
 */
export async function runPreprocessCommand(data: AnnData, outDir: string, options: PreprocessOptions = {}): Promise<PreprocessResult> {
  const result = preprocess(data, options);
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'qc_cells.csv'), qcCellsCsv(data.obs.index, result.qc));
  await writeFile(join(outDir, 'hvg.csv'), hvgCsv(result.data.var.index, result.hvg));
  return result;
}

/** The CLI's numeric flags and the option each sets. */
const NUMERIC_FLAGS = {
  'min-genes': 'minGenes',
  'max-genes': 'maxGenes',
  'min-counts': 'minCounts',
  'max-counts': 'maxCounts',
  'max-pct-mito': 'maxPctMito',
  'min-cells': 'minCells',
  'n-top-genes': 'nTopGenes',
  'max-fraction': 'maxFraction',
  'log-base': 'logBase',
  'min-mean': 'minMean',
  'max-mean': 'maxMean',
  'min-disp': 'minDisp',
  'max-disp': 'maxDisp',
  'n-bins': 'nBins',
  span: 'span',
} as const satisfies Record<string, keyof PreprocessOptions>;

/** Flags the `preprocess` command accepts besides FILE and --out. */
export const PREPROCESS_FLAGS = [...Object.keys(NUMERIC_FLAGS), 'target-sum', 'flavor', 'batch-key', 'exclude-highly-expressed'] as const;

/**
 * Options from the CLI's flags as given on the command line (`{'min-genes': '200', 'target-sum': 'median',
 * 'flavor': 'seurat_v3', 'exclude-highly-expressed': 'true', ...}`); unknown flags and bad values are refused.
 */
export function preprocessOptionsFromFlags(flags: Readonly<Record<string, string | boolean | undefined>>): PreprocessOptions {
  const options: Record<string, unknown> = {};
  for (const [flag, raw] of Object.entries(flags)) {
    if (raw === undefined) continue;
    const text = String(raw);
    if (flag in NUMERIC_FLAGS) {
      const value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value)) throw new PreprocessError(`--${flag} takes a number, got "${text}"`);
      options[NUMERIC_FLAGS[flag as keyof typeof NUMERIC_FLAGS]] = value;
    } else if (flag === 'target-sum') {
      const value = Number(text);
      if (text !== 'median' && !(value > 0)) throw new PreprocessError(`--target-sum takes "median" or a positive number, got "${text}"`);
      options.targetSum = text === 'median' ? 'median' : value;
    } else if (flag === 'flavor') {
      if (!(HVG_FLAVORS as readonly string[]).includes(text)) throw new PreprocessError(`--flavor takes one of ${HVG_FLAVORS.join(', ')}, got "${text}"`);
      options.flavor = text;
    } else if (flag === 'batch-key') {
      options.batchKey = text;
    } else if (flag === 'exclude-highly-expressed') {
      options.excludeHighlyExpressed = raw === true || text === 'true';
    } else {
      throw new PreprocessError(`unknown preprocess flag --${flag}; the flags are ${PREPROCESS_FLAGS.map((f) => `--${f}`).join(', ')}`);
    }
  }
  return options as PreprocessOptions;
}

/** One line per input cell: its QC metrics (over the kept genes) and whether it passed the filters. */
export function qcCellsCsv(barcodes: readonly string[], qc: QcResult): string {
  const lines = ['barcode,total_counts,n_genes_by_counts,pct_counts_mt,kept'];
  barcodes.forEach((barcode, r) => {
    const { totalCounts, nGenesByCounts, pctCountsInSet } = qc.cells;
    lines.push([csvField(barcode), totalCounts[r], nGenesByCounts[r], pctCountsInSet[r], qc.keepCells[r] ? 'true' : 'false'].join(','));
  });
  return lines.join('\n') + '\n';
}

/** Order of the HVG columns in hvg.csv: scanpy's names, those of the flavour only. */
const HVG_COLUMN_ORDER = [
  'highly_variable',
  'highly_variable_rank',
  'means',
  'variances',
  'variances_norm',
  'dispersions',
  'dispersions_norm',
  'highly_variable_nbatches',
  'highly_variable_intersection',
] as const satisfies readonly (keyof HvgColumns)[];
const BOOLEAN_COLUMNS = new Set<string>(['highly_variable', 'highly_variable_intersection']);

/** One line per gene: its name and the HVG columns; NaN is written as an empty field (as pandas does). */
export function hvgCsv(genes: readonly string[], hvg: HvgColumns): string {
  const columns = HVG_COLUMN_ORDER.filter((name) => hvg[name] !== undefined);
  const lines = [['gene', ...columns].join(',')];
  genes.forEach((gene, g) => {
    const fields = columns.map((name) => {
      const value = hvg[name]![g]!;
      if (BOOLEAN_COLUMNS.has(name)) return value ? 'true' : 'false';
      return Number.isNaN(value) ? '' : String(value);
    });
    lines.push([csvField(gene), ...fields].join(','));
  });
  return lines.join('\n') + '\n';
}

function numeric(values: ArrayLike<number>, keep: Int32Array): Column {
  return { kind: 'numeric', values: Float64Array.from(keep, (i) => values[i]!) };
}

function hvgFrameColumns(hvg: HvgColumns): Record<string, Column> {
  const out: Record<string, Column> = {};
  for (const name of HVG_COLUMN_ORDER) {
    const values = hvg[name];
    if (!values) continue;
    out[name] = BOOLEAN_COLUMNS.has(name) ? { kind: 'boolean', values: values as Uint8Array } : { kind: 'numeric', values: Float64Array.from(values) };
  }
  return out;
}
