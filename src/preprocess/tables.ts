/** The preprocess command's tables: QC metrics per input cell, and the HVG columns per kept gene. */
import { csvField } from '../io/csv.js';
import { HVG_BOOLEAN_COLUMNS, HVG_COLUMN_ORDER, type HvgColumns } from './hvg.js';
import type { QcResult } from './qc.js';

/** One line per input cell: its QC metrics (over the kept genes) and whether it passed the filters. */
export function qcCellsCsv(barcodes: readonly string[], qc: QcResult): string {
  const lines = ['barcode,total_counts,n_genes_by_counts,pct_counts_mt,kept'];
  barcodes.forEach((barcode, r) => {
    const { totalCounts, nGenesByCounts, pctCountsInSet } = qc.cells;
    lines.push([csvField(barcode), totalCounts[r], nGenesByCounts[r], pctCountsInSet[r], qc.keepCells[r] ? 'true' : 'false'].join(','));
  });
  return lines.join('\n') + '\n';
}

/** One line per gene: its name and the HVG columns; NaN is written as an empty field (as pandas does). */
export function hvgCsv(genes: readonly string[], hvg: HvgColumns): string {
  const columns = HVG_COLUMN_ORDER.filter((name) => hvg[name] !== undefined);
  const lines = [['gene', ...columns].join(',')];
  genes.forEach((gene, g) => {
    const fields = columns.map((name) => {
      const value = hvg[name]![g]!;
      if (HVG_BOOLEAN_COLUMNS.has(name)) return value ? 'true' : 'false';
      return Number.isNaN(value) ? '' : String(value);
    });
    lines.push([csvField(gene), ...fields].join(','));
  });
  return lines.join('\n') + '\n';
}

