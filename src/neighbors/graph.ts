/**
 * The neighbourhood graph of a set of points (latent means): umap-learn's fuzzy simplicial set, which
 * scanpy stores as `connectivities` and which both UMAP lays out and graph clustering partitions.
 */
import type { DenseMatrix } from '../io/types.js';
import { assertFinite, knn, type KnnOptions, type KnnResult } from './knn.js';

/** An undirected weighted graph as an edge list holding each edge in both directions (i→j and j→i). */
export interface WeightedGraph {
  readonly nNodes: number;
  readonly head: Int32Array;
  readonly tail: Int32Array;
  readonly weight: Float64Array;
}

const SMOOTH_K_TOLERANCE = 1e-5;
const MIN_K_DIST_SCALE = 1e-3;

/**
 * umap-learn's fuzzy_simplicial_set with local_connectivity 1 and set_op_mix_ratio 1: per cell, rho =
 * distance to the nearest non-identical neighbour and sigma solving sum exp(-(d - rho)/sigma) = log2(k)
 * (k counting the cell itself); then w + w^T - w * w^T.
 */
export function fuzzyGraph(neighbours: KnnResult, nNeighborsWithSelf: number, n: number): WeightedGraph {
  const k = nNeighborsWithSelf - 1;
  const stride = neighbours.k;
  const { indices, distances } = neighbours;
  const target = Math.log2(nNeighborsWithSelf);
  let meanAllDistances = 0;
  for (let i = 0; i < n; i++) for (let m = 0; m < k; m++) meanAllDistances += distances[i * stride + m];
  // The cell itself counts as a zero distance in umap-learn's means.
  meanAllDistances /= n * (k + 1);

  const directed = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const row = i * stride;
    let rho = 0;
    let rowSum = 0;
    for (let m = 0; m < k; m++) {
      const dist = distances[row + m];
      rowSum += dist;
      if (rho === 0 && dist > 0) rho = dist;
    }
    let lo = 0;
    let hi = Infinity;
    let sigma = 1;
    for (let iter = 0; iter < 64; iter++) {
      let psum = 0;
      for (let m = 0; m < k; m++) {
        const gap = distances[row + m] - rho;
        psum += gap > 0 ? Math.exp(-gap / sigma) : 1;
      }
      if (Math.abs(psum - target) < SMOOTH_K_TOLERANCE) break;
      if (psum > target) {
        hi = sigma;
        sigma = (lo + hi) / 2;
      } else {
        lo = sigma;
        sigma = hi === Infinity ? sigma * 2 : (lo + hi) / 2;
      }
    }
    const floor = MIN_K_DIST_SCALE * (rho > 0 ? rowSum / (k + 1) : meanAllDistances);
    if (sigma < floor) sigma = floor;
    for (let m = 0; m < k; m++) {
      const gap = distances[row + m] - rho;
      directed[i * k + m] = gap <= 0 || sigma === 0 ? 1 : Math.exp(-gap / sigma);
    }
  }

  // Incoming edges per cell (transpose of the directed graph) by counting sort.
  const inStart = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) for (let m = 0; m < k; m++) inStart[indices[i * stride + m] + 1]++;
  for (let i = 0; i < n; i++) inStart[i + 1] += inStart[i];
  const inSource = new Int32Array(n * k);
  const inWeight = new Float64Array(n * k);
  const fill = inStart.slice(0, n);
  for (let i = 0; i < n; i++) {
    for (let m = 0; m < k; m++) {
      const j = indices[i * stride + m];
      inSource[fill[j]] = i;
      inWeight[fill[j]] = directed[i * k + m];
      fill[j]++;
    }
  }

  const head: number[] = [];
  const tail: number[] = [];
  const weight: number[] = [];
  // outWeight[j] holds w(i -> j) for the current i (NaN when absent); reset after each row.
  const outWeight = new Float64Array(n).fill(NaN);
  for (let i = 0; i < n; i++) {
    for (let m = 0; m < k; m++) outWeight[indices[i * stride + m]] = directed[i * k + m];
    for (let e = inStart[i]; e < inStart[i + 1]; e++) {
      const j = inSource[e];
      const wIn = inWeight[e];
      const wOut = Number.isNaN(outWeight[j]) ? 0 : outWeight[j];
      head.push(i); tail.push(j); weight.push(wOut + wIn - wOut * wIn);
      outWeight[j] = -1; // marks "already emitted"
    }
    for (let m = 0; m < k; m++) {
      const j = indices[i * stride + m];
      if (outWeight[j] >= 0) {
        head.push(i); tail.push(j); weight.push(outWeight[j]);
      }
      outWeight[j] = NaN;
    }
    for (let e = inStart[i]; e < inStart[i + 1]; e++) outWeight[inSource[e]] = NaN;
  }
  return { nNodes: n, head: Int32Array.from(head), tail: Int32Array.from(tail), weight: Float64Array.from(weight) };
}

/**
 * The fuzzy kNN graph of the rows of `latents` (umap-learn's fuzzy_simplicial_set, scanpy's
 * connectivities): the graph UMAP lays out, and the one graph clustering partitions.
 */
export function neighbourGraph(latents: DenseMatrix, nNeighbors = 15, options: KnnOptions = {}): WeightedGraph {
  assertFinite(latents, 'neighbourGraph');
  const n = latents.nRows;
  if (n <= 1) return { nNodes: n, head: new Int32Array(0), tail: new Int32Array(0), weight: new Float64Array(0) };
  const withSelf = Math.min(nNeighbors, n);
  return fuzzyGraph(knn(latents, withSelf - 1, options), withSelf, n);
}

