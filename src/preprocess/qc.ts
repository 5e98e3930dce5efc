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
  const source = asRowBlocks(matrix);
  const totalCounts = new Float64Array(source.nRows);
  const nGenesByCounts = new Int32Array(source.nRows);
  const pctCountsInSet = new Float64Array(source.nRows);
  source.eachBlock(({ nRows, indptr, indices, data }, first) => {
    for (let r = 0; r < nRows; r++) {
      let total = 0;
      let inSet = 0;
      let expressed = 0;
      for (let k = indptr[r]!; k < indptr[r + 1]!; k++) {
        const col = indices[k]!;
        if (genes && !genes[col]) continue;
        const value = data[k]!;
        total += value;
        if (value > 0) expressed++;
        if (inGeneSet[col]) inSet += value;
      }
      totalCounts[first + r] = total;
      nGenesByCounts[first + r] = expressed;
      pctCountsInSet[first + r] = total > 0 ? (100 * inSet) / total : 0;
    }
  });
  return { totalCounts, nGenesByCounts, pctCountsInSet };
}

/** Gene metrics over all cells. */
export function geneQcMetrics(matrix: CsrMatrix | RowBlocks): GeneQc {
  const source = asRowBlocks(matrix);
  const nCellsByCounts = new Int32Array(source.nCols);
  const totalCounts = new Float64Array(source.nCols);
  source.eachBlock(({ indices, data }) => {
    for (let k = 0; k < indices.length; k++) {
      const col = indices[k]!;
      totalCounts[col]! += data[k]!;
      if (data[k]! > 0) nCellsByCounts[col]!++;
    }
  });
  return { nCellsByCounts, totalCounts };
}

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
  const genes = geneQcMetrics(matrix);
  const keepGenes = Uint8Array.from(genes.nCellsByCounts, (n) => (n >= (filters.minCells ?? 0) ? 1 : 0));
  const cells = cellQcMetrics(matrix, inGeneSet, keepGenes);
  const { minGenes = -Infinity, maxGenes = Infinity, minCounts = -Infinity, maxCounts = Infinity, maxPctMito = Infinity } = filters;
  const keepCells = new Uint8Array(matrix.nRows);
  for (let r = 0; r < matrix.nRows; r++) {
    const nGenes = cells.nGenesByCounts[r]!;
    const total = cells.totalCounts[r]!;
    keepCells[r] = Number(
      nGenes >= minGenes && nGenes <= maxGenes && total >= minCounts && total <= maxCounts && cells.pctCountsInSet[r]! < maxPctMito,
    );
  }
  return { cells, genes, keepCells, keepGenes };
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

/** Positions of the non-zero flags, in order. */
export function flaggedIndices(mask: ArrayLike<number>): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) out.push(i);
  return Int32Array.from(out);
}
