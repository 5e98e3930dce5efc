/** The result files turned into what the panels show: marker rows, training curves, histograms, gene matches. */

/** The numeric columns of markers.csv. */
export const MARKER_NUMBERS = ['rank', 'score', 'logfoldchange', 'pval', 'pval_adj', 'pct_in', 'pct_out'] as const;

export interface MarkerRow {
  cluster: string;
  rank: number;
  gene: string;
  score: number;
  logfoldchange: number;
  pval: number;
  pval_adj: number;
  pct_in: number;
  pct_out: number;
}

export function markerRows(records: Record<string, string>[]): MarkerRow[] {
  return records.map((record) => ({
    cluster: record.cluster ?? '',
    gene: record.gene ?? '',
    ...(Object.fromEntries(MARKER_NUMBERS.map((key) => [key, record[key] === '' ? NaN : Number(record[key])])) as Record<(typeof MARKER_NUMBERS)[number], number>),
  }));
}

export interface TrainingCurves {
  epochs: number[];
  series: { name: string; values: (number | null)[] }[];
}

/** The columns of training.csv worth a curve: every loss term, training and validation. */
export function trainingCurves(rows: Record<string, string>[]): TrainingCurves {
  const columns = rows.length ? Object.keys(rows[0]!).filter((name) => /^(train|validation)_/.test(name)) : [];
  const value = (text: string | undefined) => (text === undefined || text === '' || !Number.isFinite(Number(text)) ? null : Number(text));
  return {
    // training.csv counts epochs from 0; the progress and the summary from 1, as a person reads "epoch 1 of 2".
    epochs: rows.map((row) => Number(row.epoch) + 1),
    series: columns
      .map((name) => ({ name, values: rows.map((row) => value(row[name])) }))
      .filter((series) => series.values.some((v) => v !== null)),
  };
}

const BINS = 40;

/** Equal-width bins over the finite values: bin left edges and counts. */
export function histogram(values: Float32Array, bins = BINS): { edges: number[]; counts: number[] } {
  let low = Infinity;
  let high = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    low = Math.min(low, v);
    high = Math.max(high, v);
  }
  if (low > high) return { edges: [], counts: [] };
  const width = high > low ? (high - low) / bins : 1;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) if (Number.isFinite(v)) counts[Math.min(bins - 1, Math.floor((v - low) / width))]!++;
  return { edges: counts.map((_, b) => low + b * width), counts };
}

const GENE_SUGGESTIONS = 12;

/** Genes whose name starts with the text first, then those that contain it (case-insensitive). */
export function matchGenes(genes: readonly string[], text: string, limit = GENE_SUGGESTIONS): string[] {
  const query = text.trim().toLowerCase();
  if (!query) return [];
  const starts: string[] = [];
  const contains: string[] = [];
  for (const gene of genes) {
    const lower = gene.toLowerCase();
    if (lower.startsWith(query)) starts.push(gene);
    else if (contains.length < limit && lower.includes(query)) contains.push(gene);
    if (starts.length >= limit) break;
  }
  return [...starts, ...contains].slice(0, limit);
}
