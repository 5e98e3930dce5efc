/**
 * Marker genes: each cluster against all other cells with the Wilcoxon rank-sum test, following
 * scanpy `tl.rank_genes_groups(method="wilcoxon", reference="rest", corr_method="benjamini-hochberg")`:
 *
 * - ranks are average ranks over all cells per gene; score z = (R_group - n_g (n_g + n_r + 1) / 2) /
 *   sqrt(T n_g n_r (n_g + n_r + 1) / 12) with T = 1 unless `tieCorrect` (scanpy's default is off);
 * - pval = 2 * normal survival(|z|); pvalAdj = Benjamini-Hochberg over all genes of the group;
 * - logFoldChange = log2((expm1(mean_group) + 1e-9) / (expm1(mean_rest) + 1e-9)) on the given
 *   (log-normalised) values, expm1 undoing a log of `logBase` as scanpy does; pctIn / pctOut =
 *   fraction of cells with a non-zero value;
 * - the top `nTop` genes per group by descending score (ties: lower gene index first).
 *
 * Cells labelled -1 belong to no group but count in every group's "rest", as cells outside the
 * selected groups do in scanpy. Sparse-aware: per gene only the stored values are sorted; all
 * zeros share one average rank.
 */
import type { CsrMatrix } from '../io/types.js';

export interface WilcoxonOptions {
  /** Genes reported per group (scanpy n_genes), capped at the number of genes. */
  readonly nTop: number;
  /** Base of the log1p that made the values (scanpy's uns['log1p']['base']); natural log when omitted. */
  readonly logBase?: number;
  /** Divide the variance by the tie correction factor (scanpy tie_correct); default false. */
  readonly tieCorrect?: boolean;
  /** Checked between genes (a synchronous loop: it sees aborts raised from onProgress or another thread). */
  readonly signal?: AbortSignal;
  readonly onProgress?: (fraction: number) => void;
}

/** Column-oriented table: row r is the rank[r]-th marker (1-based) of group[r]; rows ordered by group then rank. */
export interface MarkerTable {
  readonly group: Int32Array;
  readonly rank: Int32Array;
  readonly gene: string[];
  readonly score: Float64Array;
  readonly logFoldChange: Float64Array;
  readonly pval: Float64Array;
  readonly pvalAdj: Float64Array;
  readonly pctIn: Float64Array;
  readonly pctOut: Float64Array;
}

/**
 * Complementary error function with relative error below 1.2e-7 for all x (Chebyshev-fitted
 * exponent, Press et al., Numerical Recipes 2nd ed. section 6.2), so tail p-values keep their precision.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -z * z - 1.26551223 +
    t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 +
    t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const result = t * Math.exp(poly);
  return x >= 0 ? result : 2 - result;
}

/** Two-sided p-value of a standard normal z-score. */
export function twoSidedNormalP(z: number): number {
  // The approximation overshoots 1 by ~3e-8 at z = 0.
  return Math.min(1, erfc(Math.abs(z) / Math.SQRT2));
}

/** Benjamini-Hochberg adjusted p-values (statsmodels fdr_bh: step-up, monotone, capped at 1). */
export function benjaminiHochberg(pvals: Float64Array): Float64Array {
  const m = pvals.length;
  const order = Int32Array.from({ length: m }, (_, i) => i).sort((a, b) => pvals[a] - pvals[b] || a - b);
  const adjusted = new Float64Array(m);
  let running = 1;
  for (let r = m - 1; r >= 0; r--) {
    running = Math.min(running, (pvals[order[r]] * m) / (r + 1));
    adjusted[order[r]] = running;
  }
  return adjusted;
}

/** Per group and gene: rank sum, value sum and count of non-zero values (arrays indexed group * nGenes + gene). */
interface GroupGeneStats {
  readonly rankSum: Float64Array;
  readonly valueSum: Float64Array;
  readonly nonZero: Float64Array;
  /** Per gene: sum over all cells, and count of non-zero cells. */
  readonly totalSum: Float64Array;
  readonly totalNonZero: Float64Array;
  /** Per gene: tie correction factor 1 - sum(t^3 - t) / (n^3 - n). */
  readonly tieFactor: Float64Array;
}

/** Entries per packed sort key: a key is sortableBits(value) * 2^21 + entry, exact below 2^53. */
const PACKED_ENTRIES = 2 ** 21;

/**
 * Fills `sorted` with positions start..start + sorted.length of `values`, ordered by value. Packs each
 * (value, entry) into one exact float64 key so the native numeric sort does the work (several times
 * faster than a comparator); columns too long to pack fall back to a comparator.
 */
function sortByValue(values: Float32Array, bits: Uint32Array, start: number, sorted: Int32Array, keys: Float64Array): void {
  const count = sorted.length;
  if (count >= PACKED_ENTRIES) {
    for (let s = 0; s < count; s++) sorted[s] = start + s;
    sorted.sort((a, b) => values[a] - values[b]);
    return;
  }
  const packed = keys.subarray(0, count);
  for (let s = 0; s < count; s++) {
    const b = bits[start + s];
    // IEEE order as unsigned integers: flip every bit of negatives, only the sign bit of the rest.
    const sortable = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
    packed[s] = sortable * PACKED_ENTRIES + s;
  }
  packed.sort();
  for (let s = 0; s < count; s++) sorted[s] = start + (packed[s] % PACKED_ENTRIES);
}

/** One pass over a CSC transpose of X: rank sums, value sums and non-zero counts per group and gene. */
function groupGeneStats(X: CsrMatrix, labels: Int32Array, nGroups: number, groupSize: Float64Array, options: WilcoxonOptions): GroupGeneStats {
  const { nRows: n, nCols: nGenes, indptr, indices, data } = X;
  // CSC transpose: per gene, its stored values and their cells.
  const colStart = new Int32Array(nGenes + 1);
  for (let e = 0; e < indptr[n]; e++) colStart[indices[e] + 1]++;
  for (let g = 0; g < nGenes; g++) colStart[g + 1] += colStart[g];
  const colCell = new Int32Array(indptr[n]);
  const colValue = new Float32Array(indptr[n]);
  const fill = colStart.slice(0, nGenes);
  for (let cell = 0; cell < n; cell++) {
    for (let e = indptr[cell]; e < indptr[cell + 1]; e++) {
      if (!Number.isFinite(data[e])) throw new RangeError(`rankGenesGroups: non-finite value in cell ${cell}, gene ${indices[e]}`);
      const pos = fill[indices[e]]++;
      colCell[pos] = cell;
      colValue[pos] = data[e];
    }
  }

  const rankSum = new Float64Array(nGroups * nGenes);
  const valueSum = new Float64Array(nGroups * nGenes);
  const nonZero = new Float64Array(nGroups * nGenes);
  const totalSum = new Float64Array(nGenes);
  const totalNonZero = new Float64Array(nGenes);
  const tieFactor = new Float64Array(nGenes);
  const storedInGroup = new Float64Array(nGroups);
  const progressEvery = Math.max(1, Math.floor(nGenes / 100));
  const colBits = new Uint32Array(colValue.buffer, colValue.byteOffset, colValue.length);
  let order = new Int32Array(0);
  let keys = new Float64Array(0);
  for (let g = 0; g < nGenes; g++) {
    if (g % progressEvery === 0) {
      options.signal?.throwIfAborted();
      options.onProgress?.(g / nGenes);
    }
    const start = colStart[g];
    const nStored = colStart[g + 1] - start;
    if (order.length < nStored) {
      order = new Int32Array(Math.max(nStored, order.length * 2));
      keys = new Float64Array(order.length);
    }
    const sorted = order.subarray(0, nStored);
    sortByValue(colValue, colBits, start, sorted, keys);

    // Zeros (implicit, plus stored zeros) form one tied run placed among the sorted stored values.
    let nNegative = 0;
    while (nNegative < nStored && colValue[sorted[nNegative]] < 0) nNegative++;
    let nStoredZero = 0;
    while (nNegative + nStoredZero < nStored && colValue[sorted[nNegative + nStoredZero]] === 0) nStoredZero++;
    const nZero = n - nStored + nStoredZero;
    const zeroRank = nNegative + (nZero + 1) / 2;
    let tieSum = nZero * nZero * nZero - nZero;

    storedInGroup.fill(0);
    // Walk runs of equal stored non-zero values; rank = average 1-based position counting the zero run.
    for (let s = 0; s < nStored;) {
      const value = colValue[sorted[s]];
      if (value === 0) { s++; continue; }
      let end = s + 1;
      while (end < nStored && colValue[sorted[end]] === value) end++;
      const before = value < 0 ? s : s - nStoredZero + nZero;
      const rank = before + (end - s + 1) / 2;
      const t = end - s;
      tieSum += t * t * t - t;
      for (let r = s; r < end; r++) {
        const label = labels[colCell[sorted[r]]];
        if (label < 0) continue;
        rankSum[label * nGenes + g] += rank;
        valueSum[label * nGenes + g] += value;
        nonZero[label * nGenes + g] += 1;
        storedInGroup[label] += 1;
      }
      totalSum[g] += value * t;
      totalNonZero[g] += t;
      s = end;
    }
    for (let c = 0; c < nGroups; c++) rankSum[c * nGenes + g] += (groupSize[c] - storedInGroup[c]) * zeroRank;
    tieFactor[g] = n > 1 ? 1 - tieSum / (n * n * n - n) : 1;
  }
  return { rankSum, valueSum, nonZero, totalSum, totalNonZero, tieFactor };
}

/**
 * Top marker genes of every group 0..max(labels) that has cells. `X` is cells x genes (log-normalised),
 * `labels` one group code per cell (-1 = none), `geneNames` one name per column.
 */
export function rankGenesGroups(X: CsrMatrix, labels: Int32Array, geneNames: readonly string[], options: WilcoxonOptions): MarkerTable {
  const { nRows: n, nCols: nGenes } = X;
  if (labels.length !== n) throw new RangeError(`rankGenesGroups: ${labels.length} labels for ${n} cells`);
  if (geneNames.length !== nGenes) throw new RangeError(`rankGenesGroups: ${geneNames.length} gene names for ${nGenes} genes`);
  let nGroups = 0;
  for (const label of labels) {
    if (!Number.isInteger(label) || label < -1) throw new RangeError(`rankGenesGroups: invalid label ${label}`);
    nGroups = Math.max(nGroups, label + 1);
  }
  const groupSize = new Float64Array(nGroups);
  for (const label of labels) if (label >= 0) groupSize[label]++;
  const nTop = Math.min(options.nTop, nGenes);
  const tieCorrect = options.tieCorrect ?? false;
  const unlog = options.logBase === undefined ? Math.expm1 : (v: number) => Math.expm1(v * Math.log(options.logBase!));

  const stats = groupGeneStats(X, labels, nGroups, groupSize, options);
  const groups = Array.from({ length: nGroups }, (_, c) => c).filter((c) => groupSize[c] > 0);
  const nRowsOut = groups.length * nTop;
  const table: MarkerTable = {
    group: new Int32Array(nRowsOut),
    rank: new Int32Array(nRowsOut),
    gene: new Array<string>(nRowsOut),
    score: new Float64Array(nRowsOut),
    logFoldChange: new Float64Array(nRowsOut),
    pval: new Float64Array(nRowsOut),
    pvalAdj: new Float64Array(nRowsOut),
    pctIn: new Float64Array(nRowsOut),
    pctOut: new Float64Array(nRowsOut),
  };
  const scores = new Float64Array(nGenes);
  const pvals = new Float64Array(nGenes);
  groups.forEach((c, groupIndex) => {
    const nIn = groupSize[c];
    const nOut = n - nIn;
    for (let g = 0; g < nGenes; g++) {
      const variance = ((tieCorrect ? stats.tieFactor[g] : 1) * nIn * nOut * (n + 1)) / 12;
      const z = (stats.rankSum[c * nGenes + g] - (nIn * (n + 1)) / 2) / Math.sqrt(variance);
      // scanpy turns the undefined score (no other cells, or all values tied under tie correction) into 0.
      scores[g] = Number.isFinite(z) ? z : 0;
      pvals[g] = twoSidedNormalP(scores[g]);
    }
    const adjusted = benjaminiHochberg(pvals);
    const top = Int32Array.from({ length: nGenes }, (_, g) => g).sort((a, b) => scores[b] - scores[a] || a - b).subarray(0, nTop);
    top.forEach((g, r) => {
      const row = groupIndex * nTop + r;
      const meanIn = stats.valueSum[c * nGenes + g] / nIn;
      const meanOut = nOut > 0 ? (stats.totalSum[g] - stats.valueSum[c * nGenes + g]) / nOut : NaN;
      table.group[row] = c;
      table.rank[row] = r + 1;
      table.gene[row] = geneNames[g];
      table.score[row] = scores[g];
      table.logFoldChange[row] = Math.log2((unlog(meanIn) + 1e-9) / (unlog(meanOut) + 1e-9));
      table.pval[row] = pvals[g];
      table.pvalAdj[row] = adjusted[g];
      table.pctIn[row] = stats.nonZero[c * nGenes + g] / nIn;
      table.pctOut[row] = nOut > 0 ? (stats.totalNonZero[g] - stats.nonZero[c * nGenes + g]) / nOut : NaN;
    });
  });
  options.onProgress?.(1);
  return table;
}
