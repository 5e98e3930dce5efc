/**
 * How well a latent space removes conditions and keeps cell types (scIB's measures, Luecken et al. 2022):
 * LISI (Korsunsky et al. 2019: the inverse Simpson index of a category among a cell's perplexity-30
 * neighbourhood; iLISI on batches, cLISI on labels) and the silhouette width of labels.
 */
import type { DenseMatrix } from '../io/types.js';
import { knn } from '../neighbors/knn.js';
import { Rng } from '../random.js';
import { adjustedRandIndex, normalizedMutualInfo } from './index.js';

/** LISI's neighbourhood: perplexity 30 over the 90 nearest neighbours, as harmonypy and the lisi R package. */
const LISI_PERPLEXITY = 30;
const ENTROPY_TOLERANCE = 1e-5;
const BETA_STEPS = 50;

/**
 * Per-cell LISI of `codes` (categories 0..C−1; −1 cells are skipped and weigh nothing) over the
 * Gaussian-weighted neighbourhood whose entropy is log(perplexity), with weights exp(−β d) on the
 * neighbour distances d as the reference implementations use. A cell in a neighbourhood of one category
 * scores 1; a neighbourhood of C categories in equal shares scores C.
 */
export function lisi(points: DenseMatrix, codes: Int32Array, perplexity = LISI_PERPLEXITY): Float64Array {
  const n = points.nRows;
  const k = Math.min(n - 1, Math.round(3 * perplexity));
  const out = new Float64Array(n).fill(NaN);
  if (k < 1) return out;
  const { indices, distances } = knn(points, k);
  const target = Math.log(Math.min(perplexity, k));
  const weights = new Float64Array(k);
  const weigh = (row: number, beta: number): number => {
    let sum = 0;
    let weighted = 0;
    for (let m = 0; m < k; m++) {
      const d = distances[row * k + m]!;
      weights[m] = Math.exp(-d * beta);
      sum += weights[m]!;
      weighted += d * weights[m]!;
    }
    if (!(sum > 0)) return 0;
    for (let m = 0; m < k; m++) weights[m]! /= sum;
    return Math.log(sum) + (beta * weighted) / sum;
  };
  const share = new Float64Array(Math.max(0, ...codes) + 1);
  for (let i = 0; i < n; i++) {
    if (codes[i]! < 0) continue;
    let beta = 1;
    let lo = -Infinity;
    let hi = Infinity;
    let entropy = weigh(i, beta);
    for (let step = 0; step < BETA_STEPS && Math.abs(entropy - target) >= ENTROPY_TOLERANCE; step++) {
      if (entropy > target) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = lo === -Infinity ? beta / 2 : (beta + lo) / 2;
      }
      entropy = weigh(i, beta);
    }
    if (entropy === 0) continue;
    share.fill(0);
    let known = 0;
    for (let m = 0; m < k; m++) {
      const code = codes[indices[i * k + m]!]!;
      if (code < 0) continue;
      share[code]! += weights[m]!;
      known += weights[m]!;
    }
    if (!(known > 0)) continue;
    let simpson = 0;
    for (const s of share) simpson += (s / known) ** 2;
    out[i] = 1 / simpson;
  }
  return out;
}

/** Median of the finite values. */
function finiteMedian(values: Float64Array): number {
  const finite = values.filter(Number.isFinite).sort();
  if (finite.length === 0) return NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
}

/** At most this many cells enter the silhouette (it costs n² distances). */
const SILHOUETTE_CELLS = 5_000;

/**
 * Mean silhouette width of `codes` over the points (Euclidean; −1 cells skipped), on a seeded sample of
 * at most 5,000 cells: (b − a) / max(a, b) with a the mean distance to the cell's own category and b to
 * the nearest other. In [−1, 1]; NaN with fewer than two categories.
 */
export function silhouette(points: DenseMatrix, codes: Int32Array, seed = 0): number {
  const labelled = Int32Array.from({ length: points.nRows }, (_, i) => i).filter((i) => codes[i]! >= 0);
  const sample = labelled.length > SILHOUETTE_CELLS ? new Rng(seed).shuffle(labelled).subarray(0, SILHOUETTE_CELLS) : labelled;
  const nCategories = Math.max(-1, ...Array.from(sample, (i) => codes[i]!)) + 1;
  const sizes = new Float64Array(nCategories);
  for (const i of sample) sizes[codes[i]!]!++;
  if (sizes.filter((s) => s > 0).length < 2) return NaN;
  const d = points.nCols;
  const sums = new Float64Array(nCategories);
  let total = 0;
  let counted = 0;
  for (const i of sample) {
    sums.fill(0);
    for (const j of sample) {
      if (i === j) continue;
      let s = 0;
      for (let c = 0; c < d; c++) s += (points.data[i * d + c]! - points.data[j * d + c]!) ** 2;
      sums[codes[j]!]! += Math.sqrt(s);
    }
    const own = codes[i]!;
    if (sizes[own]! < 2) continue; // a singleton's silhouette is 0 by convention: it adds nothing but a count
    const a = sums[own]! / (sizes[own]! - 1);
    let b = Infinity;
    for (let c = 0; c < nCategories; c++) if (c !== own && sizes[c]! > 0) b = Math.min(b, sums[c]! / sizes[c]!);
    total += (b - a) / Math.max(a, b);
    counted++;
  }
  return counted > 0 ? total / sample.length : NaN;
}

export interface ConditionMixing {
  /** Median iLISI: 1 when each cell's neighbourhood holds one category, the number of categories when all mix evenly. */
  readonly ilisi: number;
  /** (median iLISI − 1) / (categories − 1), scIB's scaling to [0, 1]. */
  readonly ilisi_scaled: number;
  readonly categories: number;
}

/** Batch mixing of one condition in the latent space. */
export function conditionMixing(points: DenseMatrix, codes: Int32Array): ConditionMixing {
  const categories = new Set(Array.from(codes).filter((c) => c >= 0)).size;
  const ilisi = finiteMedian(lisi(points, codes));
  return { ilisi, ilisi_scaled: categories > 1 ? (ilisi - 1) / (categories - 1) : NaN, categories };
}

export interface LabelConservation {
  /** Median cLISI scaled as scIB does, (C − median cLISI) / (C − 1): 1 when neighbourhoods hold one label. */
  readonly clisi_scaled: number;
  /** Cell-type silhouette scaled to [0, 1]: (ASW + 1) / 2. */
  readonly asw_label: number;
}

/** How well the latent space keeps the labels apart. */
export function labelConservation(points: DenseMatrix, codes: Int32Array): LabelConservation {
  const categories = new Set(Array.from(codes).filter((c) => c >= 0)).size;
  const clisi = finiteMedian(lisi(points, codes));
  return { clisi_scaled: categories > 1 ? (categories - clisi) / (categories - 1) : NaN, asw_label: (silhouette(points, codes) + 1) / 2 };
}

/** LISI is computed on at most this many cells (a seeded sample), as its 90-neighbour search grows with n. */
const LISI_CELLS = 20_000;

export interface IntegrationReport {
  /** Per condition: its mixing in the latent space, and how much the clusters follow it. */
  readonly conditions: Record<string, ConditionMixing & { clusters_nmi: number }>;
  /** With labels: how well the clusters and the latent space keep them. */
  readonly label?: LabelConservation & { name: string; clusters_ari: number; clusters_nmi: number };
  readonly cells_scored: number;
}

/** Rows `rows` of a dense matrix. */
function denseSubset(points: DenseMatrix, rows: Int32Array): DenseMatrix {
  const d = points.nCols;
  const data = new Float32Array(rows.length * d);
  rows.forEach((r, i) => data.set(points.data.subarray(r * d, (r + 1) * d), i * d));
  return { nRows: rows.length, nCols: d, data };
}

/**
 * The integration measures of one run: for each condition, iLISI of its categories in `latent` and the
 * NMI between clusters and condition; with labels, cLISI, the label silhouette, and ARI/NMI of clusters
 * and labels. LISI and silhouettes use a seeded sample of at most 20,000 cells.
 */
export function integrationReport(
  latent: DenseMatrix,
  clusters: Int32Array,
  conditions: readonly { name: string; codes: Int32Array }[],
  label: { name: string; codes: Int32Array } | undefined,
  seed: number,
): IntegrationReport {
  const n = latent.nRows;
  const rows = n > LISI_CELLS ? new Rng(seed).shuffle(Int32Array.from({ length: n }, (_, i) => i)).subarray(0, LISI_CELLS).sort() : null;
  const points = rows ? denseSubset(latent, rows) : latent;
  const pick = (codes: Int32Array) => (rows ? Int32Array.from(rows, (r) => codes[r]!) : codes);
  const report: Record<string, ConditionMixing & { clusters_nmi: number }> = {};
  for (const condition of conditions) {
    report[condition.name] = { ...conditionMixing(points, pick(condition.codes)), clusters_nmi: normalizedMutualInfo(condition.codes, clusters) };
  }
  return {
    conditions: report,
    ...(label
      ? { label: { name: label.name, ...labelConservation(points, pick(label.codes)), clusters_ari: adjustedRandIndex(label.codes, clusters), clusters_nmi: normalizedMutualInfo(label.codes, clusters) } }
      : {}),
    cells_scored: points.nRows,
  };
}
