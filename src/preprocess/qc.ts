import { asRowBlocks, type RowBlocks } from '../io/row-blocks.js';
import type { CsrMatrix } from '../io/types.js';
import { PreprocessError } from './errors.js';

/** Mitochondrial genes in human (`MT-`) and mouse (`mt-`) annotations. */
export const MITO_PATTERN = /^(MT|mt)-/;

/** Per-cell QC metrics, named as scanpy's `calculate_qc_metrics` names them. */
export interface CellQc {
  readonly totalCounts: Float64Array;
  readonly nGenesByCounts: Int32Array;
  /** Percentage of the cell's counts in the gene set (mitochondrial by default): scanpy's `pct_counts_mt`. */
  readonly pctCountsInSet: Float64Array;
}

/** Per-gene QC metrics: scanpy's `n_cells_by_counts` and `total_counts`. */
export interface GeneQc {
  readonly nCellsByCounts: Int32Array;
  readonly totalCounts: Float64Array;
}

/** Marks the genes whose name matches the pattern (the gene set of `pct_counts_*`). */
export function geneSetMask(geneNames: readonly string[], pattern: RegExp = MITO_PATTERN): Uint8Array {
  return Uint8Array.from(geneNames, (name) => (pattern.test(name) ? 1 : 0));
}

/** Cell metrics over the genes flagged in `genes` (all genes when omitted); a gene counts as expressed when its value is > 0. */
export function cellQcMetrics(matrix: CsrMatrix | RowBlocks, inGeneSet: Uint8Array, genes?: Uint8Array): CellQc {
  const { totalCounts, nGenesByCounts, countsInSet } = scanCells(asRowBlocks(matrix), inGeneSet, genes);
  return { totalCounts, nGenesByCounts, pctCountsInSet: percentInSet(totalCounts, countsInSet) };
}

/** One pass over the rows: each cell's total, expressed genes and counts in the gene set over the genes flagged in `genes` (all when omitted); `eachValue` sees every stored value. */
function scanCells(source: RowBlocks, inGeneSet: Uint8Array, genes?: Uint8Array, eachValue?: (col: number, value: number, cell: number) => void) {
  const totalCounts = new Float64Array(source.nRows);
  const nGenesByCounts = new Int32Array(source.nRows);
  const countsInSet = new Float64Array(source.nRows);
  source.eachBlock(({ nRows, indptr, indices, data }, first) => {
    for (let r = 0; r < nRows; r++) {
      let total = 0;
      let inSet = 0;
      let expressed = 0;
      for (let k = indptr[r]!; k < indptr[r + 1]!; k++) {
        const col = indices[k]!;
        const value = data[k]!;
        eachValue?.(col, value, first + r);
        if (genes && !genes[col]) continue;
        total += value;
        if (value > 0) expressed++;
        if (inGeneSet[col]) inSet += value;
      }
      totalCounts[first + r] = total;
      nGenesByCounts[first + r] = expressed;
      countsInSet[first + r] = inSet;
    }
  });
  return { totalCounts, nGenesByCounts, countsInSet };
}

const percentInSet = (totals: Float64Array, inSet: Float64Array) => Float64Array.from(totals, (total, cell) => (total > 0 ? (100 * inSet[cell]!) / total : 0));

/** QC thresholds; each is off when absent, as in scanpy. */
export interface QcFilters {
  /** Keep cells with at least this many expressed genes (scanpy `filter_cells(min_genes)`). */
  readonly minGenes?: number;
  /** Keep cells with at most this many expressed genes. */
  readonly maxGenes?: number;
  readonly minCounts?: number;
  readonly maxCounts?: number;
  /** Keep cells whose percentage of counts in the gene set is below this (the tutorials' `pct_counts_mt < 5`). */
  readonly maxPctMito?: number;
  /** Keep genes expressed in at least this many of the input cells (scanpy `filter_genes(min_cells)`). */
  readonly minCells?: number;
}

export interface QcResult {
  /** Cell metrics computed over the kept genes, for every input cell. */
  readonly cells: CellQc;
  /** Gene metrics over every input cell. */
  readonly genes: GeneQc;
  readonly keepCells: Uint8Array;
  readonly keepGenes: Uint8Array;
}

/**
 * Computes QC metrics and applies the filters in the order that reproduces Seurat's
 * `CreateSeuratObject(min.cells)` followed by `subset(nFeature, percent.mt)`: genes are filtered on
 * all input cells first, then cell metrics are computed on the kept genes and the cell filters applied.
 */
export function qcFilter(matrix: CsrMatrix | RowBlocks, inGeneSet: Uint8Array, filters: QcFilters): QcResult {
  checkFilters(filters);
  const source = asRowBlocks(matrix);
  const { genes, keepGenes, cells } = qcMetrics(source, inGeneSet, filters.minCells ?? 0);
  const { minGenes = -Infinity, maxGenes = Infinity, minCounts = -Infinity, maxCounts = Infinity, maxPctMito = Infinity } = filters;
  const keepCells = new Uint8Array(source.nRows);
  for (let r = 0; r < source.nRows; r++) {
    const nGenes = cells.nGenesByCounts[r]!;
    const total = cells.totalCounts[r]!;
    keepCells[r] = Number(
      nGenes >= minGenes && nGenes <= maxGenes && total >= minCounts && total <= maxCounts && cells.pctCountsInSet[r]! < maxPctMito,
    );
  }
  return { cells, genes, keepCells, keepGenes };
}

/**
 * Gene metrics over all cells, and cell metrics over the genes in at least `minCells` cells, in one pass over
 * the rows for integer data: each cell's metrics over every gene, less the entries of the genes dropped (a
 * dropped gene has fewer than `minCells` of them, kept aside as the pass goes), are exact for integers. Other
 * data, or a dropped gene with more stored values than that, take a second pass over the kept genes.
 */
function qcMetrics(source: RowBlocks, inGeneSet: Uint8Array, minCells: number): { genes: GeneQc; keepGenes: Uint8Array; cells: CellQc } {
  const nCellsByCounts = new Int32Array(source.nCols);
  const geneTotals = new Float64Array(source.nCols);
  // Per gene, its nonzero entries (cell, value) while they are fewer than minCells; null once it has more.
  const entries: Array<number[] | null> = Array.from({ length: minCells > 0 ? source.nCols : 0 }, () => []);
  let integral = true;
  const { totalCounts, nGenesByCounts, countsInSet } = scanCells(source, inGeneSet, undefined, (col, value, cell) => {
    geneTotals[col]! += value;
    if (value > 0) nCellsByCounts[col]!++;
    if (value === 0 || minCells === 0) return;
    if (!Number.isInteger(value)) integral = false;
    const kept = entries[col];
    if (kept && kept.length < 2 * minCells) kept.push(cell, value);
    else entries[col] = null;
  });
  const keepGenes = Uint8Array.from(nCellsByCounts, (count) => (count >= minCells ? 1 : 0));
  const genes = { nCellsByCounts, totalCounts: geneTotals };
  const dropped = flaggedIndices(keepGenes.map((flag) => 1 - flag));
  if (!integral || dropped.some((col) => entries[col] === null)) return { genes, keepGenes, cells: cellQcMetrics(source, inGeneSet, keepGenes) };
  for (const col of dropped) {
    const kept = entries[col]!;
    for (let e = 0; e < kept.length; e += 2) {
      const [cell, value] = [kept[e]!, kept[e + 1]!];
      totalCounts[cell]! -= value;
      if (value > 0) nGenesByCounts[cell]!--;
      if (inGeneSet[col]) countsInSet[cell]! -= value;
    }
  }
  return { genes, keepGenes, cells: { totalCounts, nGenesByCounts, pctCountsInSet: percentInSet(totalCounts, countsInSet) } };
}

const FILTER_NAMES = ['minGenes', 'maxGenes', 'minCounts', 'maxCounts', 'maxPctMito', 'minCells'] as const satisfies readonly (keyof QcFilters)[];

function checkFilters(filters: QcFilters): void {
  for (const name of FILTER_NAMES) {
    const value = filters[name];
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
      throw new PreprocessError(`QC filter ${name} must be a non-negative number, got ${String(value)}`);
    }
  }
  const pairs: [keyof QcFilters, keyof QcFilters][] = [['minGenes', 'maxGenes'], ['minCounts', 'maxCounts']];
  for (const [lo, hi] of pairs) {
    const a = filters[lo];
    const b = filters[hi];
    if (a !== undefined && b !== undefined && a > b) throw new PreprocessError(`QC filters keep no cell: ${lo} ${a} is above ${hi} ${b}`);
  }
}

/** Flags of `length` positions, set at `indices` (flaggedIndices' inverse). */
export function indexFlags(indices: ArrayLike<number>, length: number): Uint8Array {
  const flags = new Uint8Array(length);
  for (let i = 0; i < indices.length; i++) flags[indices[i]!] = 1;
  return flags;
}

/** Positions of the non-zero flags, in order. */
export function flaggedIndices(mask: ArrayLike<number>): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) out.push(i);
  return Int32Array.from(out);
}
