/**
 * Highly variable genes with scanpy's flavours, parameter names and defaults
 * (`sc.pp.highly_variable_genes`), on the sparse matrix.
 */
import { asRowBlocks, isRowBlocks, type RowBlocks } from '../io/row-blocks.js';
import type { CsrMatrix, ValuesKind } from '../io/types.js';
import { PreprocessError } from './errors.js';
import { loessFit } from './loess.js';
import { argsort, lowerBound, median } from '../stats.js';
import { requireValues } from './normalize.js';
import { flaggedIndices } from './qc.js';
import { geneMeanVar, geneMeanVarByGroup, type GeneMeanVar } from './mean-var.js';

export const HVG_FLAVORS = ['seurat', 'cell_ranger', 'seurat_v3', 'seurat_v3_paper'] as const;
export type HvgFlavor = (typeof HVG_FLAVORS)[number];

export interface HvgOptions {
  readonly flavor: HvgFlavor;
  /** Number of genes to select; for the dispersion flavours it replaces the mean/dispersion cutoffs (scanpy: mandatory-ish for seurat_v3, default 2000). */
  readonly nTopGenes?: number;
  readonly minMean?: number;
  readonly maxMean?: number;
  readonly minDisp?: number;
  readonly maxDisp?: number;
  readonly nBins?: number;
  /** Loess span of seurat_v3. */
  readonly span?: number;
  /** Batch of each cell (codes 0..k-1, one per cell): genes are selected per batch and combined as scanpy does. */
  readonly batch?: Int32Array;
  /** Base of the log1p that produced the data (null or absent: natural log), as scanpy's `uns['log1p']['base']`. */
  readonly log1pBase?: number | null;
  /** What the caller knows the values are; classified from the data when omitted. */
  readonly valuesKind?: ValuesKind;
}

/** Result columns, named as scanpy names them in `adata.var`; absent ones do not apply to the flavour. */
export interface HvgColumns {
  readonly highly_variable: Uint8Array;
  /** seurat_v3 flavours: 0-based rank by normalised variance (median over batches), NaN outside the top genes. */
  readonly highly_variable_rank?: Float64Array;
  readonly means: Float64Array;
  readonly variances?: Float64Array;
  readonly variances_norm?: Float64Array;
  readonly dispersions?: Float64Array;
  readonly dispersions_norm?: Float64Array;
  readonly highly_variable_nbatches?: Int32Array;
  readonly highly_variable_intersection?: Uint8Array;
}

/** The HVG columns in the order tables and frames show them: scanpy's names. */
export const HVG_COLUMN_ORDER = [
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
export const HVG_BOOLEAN_COLUMNS = new Set<string>(['highly_variable', 'highly_variable_intersection']);

/** scanpy's defaults where an option is omitted. */
export const HVG_DEFAULTS = { minMean: 0.0125, maxMean: 3, minDisp: 0.5, maxDisp: Infinity, nBins: 20, span: 0.3, v3TopGenes: 2000 };

/** Selects highly variable genes (columns) of a cells x genes matrix; the values of one read in blocks are the caller's to check. */
export function highlyVariableGenes(matrix: CsrMatrix | RowBlocks, options: HvgOptions): HvgColumns {
  const { flavor, nTopGenes, batch, valuesKind } = options;
  const source = asRowBlocks(matrix);
  const checkValues = (step: string, refused: readonly ValuesKind[], remedy: string) => isRowBlocks(matrix) || requireValues(matrix, step, refused, remedy, valuesKind);
  if (!HVG_FLAVORS.includes(flavor)) {
    throw new PreprocessError(`highly_variable_genes: unknown flavor "${flavor}"; pass one of ${HVG_FLAVORS.join(', ')}`);
  }
  if (nTopGenes !== undefined && !(Number.isInteger(nTopGenes) && nTopGenes > 0)) {
    throw new PreprocessError(`highly_variable_genes: n_top_genes must be a positive integer, got ${nTopGenes}`);
  }
  const batches = batchGroups(batch, source.nRows);
  if (flavor === 'seurat_v3' || flavor === 'seurat_v3_paper') {
    checkValues(
      `flavor ${flavor}`,
      ['lognorm', 'scaled', 'other'],
      'seurat_v3 models raw counts: pass the counts (before normalize_total/log1p, e.g. the counts layer), or use flavor "seurat" or "cell_ranger" on log-normalised data',
    );
    return seuratV3(source, flavor, nTopGenes ?? HVG_DEFAULTS.v3TopGenes, options.span ?? HVG_DEFAULTS.span, batches);
  }
  if (flavor === 'seurat') {
    checkValues('flavor seurat', ['counts', 'scaled', 'other'], 'the seurat flavour expects log-normalised data: run normalize_total and log1p first, or use flavor "seurat_v3" on counts');
  } else {
    checkValues('flavor cell_ranger', ['scaled'], 'pass the log-normalised (or normalised) values, not scaled ones');
  }
  const selection: Selection = nTopGenes ?? {
    minMean: options.minMean ?? HVG_DEFAULTS.minMean,
    maxMean: options.maxMean ?? HVG_DEFAULTS.maxMean,
    minDisp: options.minDisp ?? HVG_DEFAULTS.minDisp,
    maxDisp: options.maxDisp ?? HVG_DEFAULTS.maxDisp,
  };
  const nBins = options.nBins ?? HVG_DEFAULTS.nBins;
  if (!(Number.isInteger(nBins) && nBins > 0)) throw new PreprocessError(`highly_variable_genes: n_bins must be a positive integer, got ${nBins}`);
  const base = options.log1pBase ?? null;
  const transform = flavor === 'seurat' ? (base === null ? Math.expm1 : (v: number) => Math.expm1(v * Math.log(base))) : undefined;
  if (!batches) {
    const stats = geneMeanVar(source, transform);
    const all = Int32Array.from({ length: source.nCols }, (_, i) => i);
    return dispersionTable(stats, all, flavor, nBins, selection);
  }
  return combineDispersionBatches(source, batches, flavor, nBins, selection, transform);
}

/** Each cell's batch as a group 0..n-1 (the batches present, in code order); undefined without batches. */
interface BatchGroups {
  readonly groups: Int32Array;
  readonly n: number;
}

function batchGroups(batch: Int32Array | undefined, nRows: number): BatchGroups | undefined {
  if (!batch) return undefined;
  if (batch.length !== nRows) throw new PreprocessError(`batch has ${batch.length} entries for ${nRows} cells`);
  const counts: number[] = [];
  for (const code of batch) {
    if (!(code >= 0)) throw new PreprocessError('batch_key: some cells have no batch; give every cell a batch or drop those cells first');
    counts[code] = (counts[code] ?? 0) + 1;
  }
  const groupOfCode = new Int32Array(counts.length).fill(-1);
  let n = 0;
  counts.forEach((c, code) => c > 0 && (groupOfCode[code] = n++));
  return { groups: Int32Array.from(batch, (code) => groupOfCode[code]!), n };
}

type Cutoffs = { minMean: number; maxMean: number; minDisp: number; maxDisp: number };
/** Either a number of top genes or mean/dispersion cutoffs. */
type Selection = number | Cutoffs;

/** Dispersion-based columns for the given genes of one batch (scanpy's `_highly_variable_genes_single_batch`). */
function dispersionTable(stats: GeneMeanVar, genes: Int32Array, flavor: 'seurat' | 'cell_ranger', nBins: number, selection: Selection) {
  const n = genes.length;
  const means = new Float64Array(n);
  const dispersions = new Float64Array(n);
  genes.forEach((g, i) => {
    const mean = stats.mean[g]! === 0 ? 1e-12 : stats.mean[g]!;
    const dispersion = stats.variance[g]! / mean;
    if (flavor === 'seurat') {
      // logarithmised mean and dispersion as in Seurat; a zero dispersion is undefined
      dispersions[i] = dispersion === 0 ? NaN : Math.log(dispersion);
      means[i] = Math.log1p(mean);
    } else {
      dispersions[i] = dispersion;
      means[i] = mean;
    }
  });
  const bins = flavor === 'seurat' ? equalWidthBins(means, nBins) : percentileBins(means);
  const dispersionsNorm = normaliseInBins(dispersions, bins, flavor);
  return { means, dispersions, dispersions_norm: dispersionsNorm, highly_variable: selectGenes(means, dispersionsNorm, selection) };
}

/** Bin of each value for pandas `cut(values, nBins)`: equal widths over [min, max], intervals closed on the right. */
function equalWidthBins(values: Float64Array, nBins: number): Int32Array {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  let edges: Float64Array;
  if (min === max) {
    const pad = min !== 0 ? 0.001 * Math.abs(min) : 0.001;
    edges = linspace(min - pad, max + pad, nBins + 1);
  } else {
    edges = linspace(min, max, nBins + 1);
    edges[0]! -= (max - min) * 0.001;
  }
  return assignBins(values, edges);
}

/** numpy's linspace: start + i * step, the last edge exactly stop. */
function linspace(start: number, stop: number, num: number): Float64Array {
  const step = (stop - start) / (num - 1);
  const out = Float64Array.from({ length: num }, (_, i) => i * step + start);
  out[num - 1] = stop;
  return out;
}

/** cell_ranger's bins: edges at the 10th, 15th, ..., 100th percentiles of the means, open-ended. */
function percentileBins(values: Float64Array): Int32Array {
  const sorted = Float64Array.from(values).sort();
  const edges = [-Infinity];
  for (let q = 10; q <= 100; q += 5) edges.push(percentile(sorted, q));
  edges.push(Infinity);
  return assignBins(values, Float64Array.from(edges));
}

/** numpy's `percentile` (linear method) of sorted values, with its lerp. */
function percentile(sorted: Float64Array, q: number): number {
  const position = (sorted.length - 1) * (q / 100);
  const below = Math.floor(position);
  const t = position - below;
  const a = sorted[below]!;
  const b = sorted[Math.min(below + 1, sorted.length - 1)]!;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** Interval (edges[i], edges[i+1]] of each value: its bin i (pandas `cut` with right=True). */
function assignBins(values: Float64Array, edges: Float64Array): Int32Array {
  return Int32Array.from(values, (v) => lowerBound(edges, v) - 1);
}

/**
 * z-scores within bins: seurat uses mean and standard deviation (NaN dispersions left out; a bin
 * with a single gene gets mean 0 and sd = that gene's dispersion, so its gene scores 1), cell_ranger
 * uses median and MAD scaled to a normal's sd (statsmodels `mad`).
 */
function normaliseInBins(dispersions: Float64Array, bins: Int32Array, flavor: 'seurat' | 'cell_ranger'): Float64Array {
  const members = new Map<number, number[]>();
  bins.forEach((b, i) => {
    const list = members.get(b);
    if (list) list.push(i);
    else members.set(b, [i]);
  });
  const centre = new Map<number, number>();
  const spread = new Map<number, number>();
  for (const [b, genes] of members) {
    if (flavor === 'seurat') {
      const values = genes.map((i) => dispersions[i]!).filter((v) => !Number.isNaN(v));
      const avg = values.length ? values.reduce((s, v) => s + v, 0) / values.length : NaN;
      const sd = values.length > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - avg) ** 2, 0) / (values.length - 1)) : NaN;
      centre.set(b, Number.isNaN(sd) ? 0 : avg);
      spread.set(b, Number.isNaN(sd) ? avg : sd);
    } else {
      const values = Float64Array.from(genes, (i) => dispersions[i]!);
      const med = median(values);
      centre.set(b, med);
      spread.set(b, median(values.map((v) => Math.abs(v - med))) / NORMAL_MAD_SCALE);
    }
  }
  return dispersions.map((d, i) => (d - centre.get(bins[i]!)!) / spread.get(bins[i]!)!);
}

/** Φ⁻¹(3/4): the MAD of a standard normal, statsmodels' default `c`. */
const NORMAL_MAD_SCALE = 0.6744897501960817;

/** numpy's `nan_to_num`: NaN to `nan`, ±Infinity to the largest finite doubles. */
function nanToNum(v: number, nan: number): number {
  if (Number.isNaN(v)) return nan;
  if (v === Infinity) return Number.MAX_VALUE;
  if (v === -Infinity) return -Number.MAX_VALUE;
  return v;
}

/** scanpy's `_subset_genes`: the cutoffs on mean and normalised dispersion, or every gene at least as dispersed as the n-th. */
function selectGenes(means: Float64Array, dispersionsNorm: Float64Array, selection: Selection): Uint8Array {
  if (typeof selection !== 'number') {
    const { minMean, maxMean, minDisp, maxDisp } = selection;
    return Uint8Array.from(means, (m, i) => {
      const d = nanToNum(dispersionsNorm[i]!, 0);
      return Number(m > minMean && m < maxMean && d > minDisp && d < maxDisp);
    });
  }
  const finite = dispersionsNorm.filter((d) => !Number.isNaN(d)).sort().reverse();
  if (finite.length === 0) return new Uint8Array(means.length);
  const cutoff = finite[Math.min(selection, finite.length) - 1]!;
  return Uint8Array.from(dispersionsNorm, (d) => Number(nanToNum(d, -Infinity) >= cutoff));
}

/**
 * Dispersion flavours with batches (scanpy's `_highly_variable_genes_batched`): per batch, on the
 * genes detected in it; genes absent from a batch count there as 0 in every column. Columns are
 * averaged over batches (NaN skipped, as pandas does); with n_top_genes, genes are ranked by the
 * number of batches that selected them, then by mean normalised dispersion.
 */
function combineDispersionBatches(
  source: RowBlocks,
  batches: BatchGroups,
  flavor: 'seurat' | 'cell_ranger',
  nBins: number,
  selection: Selection,
  transform: ((v: number) => number) | undefined,
): HvgColumns {
  const nGenes = source.nCols;
  const sums = { means: new Float64Array(nGenes), dispersions: new Float64Array(nGenes), dispersions_norm: new Float64Array(nGenes) };
  const counted = { means: new Int32Array(nGenes), dispersions: new Int32Array(nGenes), dispersions_norm: new Int32Array(nGenes) };
  const nbatches = new Int32Array(nGenes);
  for (const stats of geneMeanVarByGroup(source, batches.groups, batches.n, transform)) {
    const detected = flaggedIndices(stats.nCells);
    const table = dispersionTable(stats, detected, flavor, nBins, selection);
    const present = new Int32Array(nGenes).fill(-1);
    detected.forEach((g, i) => (present[g] = i));
    for (let g = 0; g < nGenes; g++) {
      const i = present[g]!;
      for (const key of ['means', 'dispersions', 'dispersions_norm'] as const) {
        const value = i >= 0 ? table[key][i]! : 0;
        if (!Number.isNaN(value)) {
          sums[key][g]! += value;
          counted[key][g]!++;
        }
      }
      if (i >= 0) nbatches[g]! += table.highly_variable[i]!;
    }
  }
  const average = (key: keyof typeof sums) => sums[key].map((s, g) => (counted[key][g]! ? s / counted[key][g]! : NaN));
  const means = average('means');
  const dispersions = average('dispersions');
  const dispersionsNorm = average('dispersions_norm');
  let highlyVariable: Uint8Array;
  if (typeof selection === 'number') {
    const order = Int32Array.from({ length: nGenes }, (_, g) => g).sort(
      (a, b) => nbatches[b]! - nbatches[a]! || descendingNanLast(dispersionsNorm[a]!, dispersionsNorm[b]!) || a - b,
    );
    highlyVariable = new Uint8Array(nGenes);
    for (let i = 0; i < Math.min(selection, nGenes); i++) highlyVariable[order[i]!] = 1;
  } else {
    dispersionsNorm.forEach((d, g) => Number.isNaN(d) && (dispersionsNorm[g] = 0));
    highlyVariable = selectGenes(means, dispersionsNorm, selection);
  }
  return {
    highly_variable: highlyVariable,
    means,
    dispersions,
    dispersions_norm: dispersionsNorm,
    highly_variable_nbatches: nbatches,
    highly_variable_intersection: Uint8Array.from(nbatches, (n) => Number(n === batches.n)),
  };
}

/** Comparator: larger first, NaN after every number. */
function descendingNanLast(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a === b ? 0 : a > b ? -1 : 1;
}

/**
 * seurat_v3 / seurat_v3_paper (Seurat's `FindVariableFeatures(selection.method = "vst")`, scanpy's
 * `_highly_variable_genes_seurat_v3`): per batch, loess of log10 variance on log10 mean over the
 * non-constant genes, values standardised with the fitted sd and clipped at sqrt(cells), and the
 * variance of the result; ranks combined over batches by median rank and number of batches.
 */
function seuratV3(
  source: RowBlocks,
  flavor: 'seurat_v3' | 'seurat_v3_paper',
  nTopGenes: number,
  span: number,
  batches: BatchGroups | undefined,
): HvgColumns {
  const nGenes = source.nCols;
  const overall = geneMeanVar(source);
  const perBatch = batches
    ? standardisedVariances(source, batches.groups, geneMeanVarByGroup(source, batches.groups, batches.n), span)
    : standardisedVariances(source, null, [overall], span);
  const nbatches = new Int32Array(nGenes);
  const ranksOfGene: number[][] = Array.from({ length: nGenes }, () => []);
  for (const normVar of perBatch) {
    // rank 0 is the most variable; equal values keep gene order, as R's order()
    const order = argsort(normVar.map((v) => -v));
    for (let rank = 0; rank < Math.min(nTopGenes, nGenes); rank++) {
      nbatches[order[rank]!]!++;
      ranksOfGene[order[rank]!]!.push(rank);
    }
  }
  const rank = Float64Array.from(ranksOfGene, (ranks) => median(Float64Array.from(ranks)));
  const variancesNorm = new Float64Array(nGenes);
  for (const normVar of perBatch) normVar.forEach((v, g) => (variancesNorm[g]! += v / perBatch.length));
  // one exact sort key per gene: ranks are halves of integers, a gene without a rank is in no batch's top genes
  const nBatches = perBatch.length;
  const rankKey = (g: number) => (Number.isNaN(rank[g]!) ? 2 * nGenes : 2 * rank[g]!);
  const sortKey =
    flavor === 'seurat_v3'
      ? (g: number) => rankKey(g) * (nBatches + 1) + (nBatches - nbatches[g]!)
      : (g: number) => (nBatches - nbatches[g]!) * (2 * nGenes + 1) + rankKey(g);
  const order = argsort(Float64Array.from({ length: nGenes }, (_, g) => sortKey(g)));
  const highlyVariable = new Uint8Array(nGenes);
  for (let i = 0; i < Math.min(nTopGenes, nGenes); i++) highlyVariable[order[i]!] = 1;
  return {
    highly_variable: highlyVariable,
    highly_variable_rank: rank,
    means: overall.mean,
    variances: overall.variance,
    variances_norm: variancesNorm,
    ...(batches ? { highly_variable_nbatches: nbatches } : {}),
  };
}

/**
 * Seurat's `variance.standardized` over the rows of each group (`groups[r]`, or one group of every row when
 * null), whose gene means and variances are `stats[group]`: each gene's values are standardised by the
 * loess-expected sd, clipped above at sqrt(n) sds (zeros are never clipped), and their variance taken; 0
 * for constant genes. Summed in scanpy's expanded form, sum((x - m)^2) = sum(x^2) - 2 m sum(x) + n m^2,
 * whose sums are exact for counts: genes with equal count sums tie exactly and keep gene order, as R's
 * order() does for Seurat.
 */
function standardisedVariances(source: RowBlocks, groups: Int32Array | null, stats: readonly GeneMeanVar[], span: number): Float64Array[] {
  const nGenes = source.nCols;
  const nCells = new Float64Array(stats.length);
  if (groups) for (const group of groups) nCells[group]!++;
  else nCells[0] = source.nRows;
  const sds = stats.map((groupStats) => loessSd(groupStats, span));
  const clip = new Float64Array(stats.length * nGenes);
  sds.forEach((sd, group) => sd.forEach((s, g) => (clip[group * nGenes + g] = stats[group]!.mean[g]! + s * Math.sqrt(nCells[group]!))));
  const sum = new Float64Array(stats.length * nGenes);
  const sumSquares = new Float64Array(stats.length * nGenes);
  source.eachBlock(({ nRows, indptr, indices, data }, first) => {
    for (let r = 0; r < nRows; r++) {
      const offset = (groups ? groups[first + r]! : 0) * nGenes;
      for (let k = indptr[r]!; k < indptr[r + 1]!; k++) {
        const g = offset + indices[k]!;
        const value = Math.min(data[k]!, clip[g]!);
        sum[g]! += value;
        sumSquares[g]! += value * value;
      }
    }
  });
  return sds.map((sd, group) =>
    sd.map((s, g) => {
      if (!(s > 0)) return 0;
      const n = nCells[group]!;
      const m = stats[group]!.mean[g]!;
      const at = group * nGenes + g;
      return (n * m * m + sumSquares[at]! - 2 * sum[at]! * m) / ((n - 1) * s * s);
    }),
  );
}

/** The loess-expected sd of each gene from its mean (Seurat's vst fit of log10 variance on log10 mean); 0 for constant genes. */
function loessSd(stats: GeneMeanVar, span: number): Float64Array {
  const sd = new Float64Array(stats.mean.length);
  const varying: number[] = [];
  stats.variance.forEach((v, g) => v > 0 && varying.push(g));
  if (varying.length === 0) return sd;
  const fitted = loessFit(
    Float64Array.from(varying, (g) => Math.log10(stats.mean[g]!)),
    Float64Array.from(varying, (g) => Math.log10(stats.variance[g]!)),
    { span },
  );
  varying.forEach((g, i) => (sd[g] = Math.sqrt(10 ** fitted[i]!)));
  return sd;
}
