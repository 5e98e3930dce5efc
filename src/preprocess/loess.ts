/**
 * One-predictor local quadratic regression as R's `loess(y ~ x, span, degree = 2)` computes it
 * (family "gaussian", unit weights), i.e. the netlib dloess routines that R and scikit-misc share:
 * with `surface: 'interpolate'` (R's default) the local fit is made only at the vertices of a
 * k-d tree over x and the fitted values are cubic Hermite interpolations between them; with
 * `surface: 'direct'` it is made at every x.
 */
import { PreprocessError } from './errors.js';
import { argsort, lowerBound } from '../stats.js';

export interface LoessOptions {
  /** Fraction of the points in each local neighbourhood (R's `span`, scanpy's 0.3). */
  readonly span: number;
  /** 'interpolate' (R's default, k-d tree + Hermite interpolation) or 'direct' (a fit at every point). */
  readonly surface?: 'interpolate' | 'direct';
  /** Largest leaf of the k-d tree as a fraction of span x n (R's `loess.control(cell = 0.2)`). */
  readonly cell?: number;
}

/** Terms of the local polynomial: 1, (x - q), (x - q)^2. */
const N_TERMS = 3;
/** dloess's bounding box is widened by this fraction of the data range on each side (ehg126). */
const BOX_MARGIN = 0.005;
/** d1mach(4): singular values below 100 x this x the largest are dropped (pseudo-inverse, ehg127). */
const MACHINE_EPSILON = 2 ** -52;

/** Fitted values of the loess of y on x at each x (the `fitted` component of R's loess object). */
export function loessFit(x: Float64Array, y: Float64Array, options: LoessOptions): Float64Array {
  const n = x.length;
  const { span, surface = 'interpolate', cell = 0.2 } = options;
  if (y.length !== n) throw new PreprocessError(`loess: x has ${n} values but y has ${y.length}`);
  if (!(span > 0)) throw new PreprocessError(`loess: span must be a positive fraction (got ${span}); scanpy and Seurat use 0.3`);
  const neighbours = Math.min(n, Math.floor(n * span));
  if (neighbours < N_TERMS + 1) {
    throw new PreprocessError(
      `loess: span ${span} of ${n} points leaves ${neighbours} points per neighbourhood, fewer than the ${N_TERMS + 1} a local quadratic needs; pass a larger span or more genes`,
    );
  }
  const order = argsort(x);
  const sortedX = Float64Array.from(order, (i) => x[i]!);
  const sortedY = Float64Array.from(order, (i) => y[i]!);
  const local = (q: number) => localQuadratic(sortedX, sortedY, q, neighbours, span);
  const fitted = new Float64Array(n);
  if (surface === 'direct') {
    for (let i = 0; i < n; i++) fitted[i] = local(x[i]!).value;
    return fitted;
  }
  const tree = buildKdTree(sortedX, Math.floor(n * (span * cell)));
  const values = new Float64Array(tree.vertices.length);
  const slopes = new Float64Array(tree.vertices.length);
  tree.vertices.forEach((q, v) => {
    const fit = local(q);
    values[v] = fit.value;
    slopes[v] = fit.slope;
  });
  for (let i = 0; i < n; i++) fitted[i] = interpolate(tree, values, slopes, x[i]!);
  return fitted;
}

/**
 * Weighted least-squares quadratic around q over the `neighbours` points nearest to q, with
 * tricube weights on distance / (distance of the farthest of them) as in ehg127; returns the
 * fit's value and slope at q. The solve mirrors dloess: columns equilibrated, QR, then a
 * pseudo-inverse of R through its singular values, so rank-deficient neighbourhoods behave alike.
 */
function localQuadratic(
  sortedX: Float64Array,
  sortedY: Float64Array,
  q: number,
  neighbours: number,
  span: number,
): { value: number; slope: number } {
  const n = sortedX.length;
  // the nearest points form a contiguous run of the sorted x: grow it from q's insertion point
  let right = lowerBound(sortedX, q);
  let left = right - 1;
  let radius2 = 0;
  for (let taken = 0; taken < neighbours; taken++) {
    const dLeft = left >= 0 ? (sortedX[left]! - q) * (sortedX[left]! - q) : Infinity;
    const dRight = right < n ? (sortedX[right]! - q) * (sortedX[right]! - q) : Infinity;
    if (dLeft <= dRight) {
      radius2 = dLeft;
      left--;
    } else {
      radius2 = dRight;
      right++;
    }
  }
  const rho = radius2 * Math.max(1, span);
  if (!(rho > 0)) throw new PreprocessError(`loess: all ${neighbours} points nearest to ${q} have the same x; pass a larger span`);
  const m = right - left - 1;
  const design = new Float64Array(m * N_TERMS); // row-major, column j of row r at r * N_TERMS + j
  const rhs = new Float64Array(m);
  for (let r = 0; r < m; r++) {
    const i = left + 1 + r;
    const dx = sortedX[i]! - q;
    const u = Math.sqrt((dx * dx) / rho);
    const tricube = 1 - u * u * u;
    const w = Math.sqrt(tricube * tricube * tricube);
    design[r * N_TERMS] = w;
    design[r * N_TERMS + 1] = w * dx;
    design[r * N_TERMS + 2] = w * dx * dx;
    rhs[r] = w * sortedY[i]!;
  }
  const coef = pseudoInverseSolve(design, rhs, m);
  return { value: coef[0]!, slope: coef[1]! };
}

/** Least-squares solution of design * c = rhs (m x N_TERMS) through equilibration, Householder QR and a truncated SVD of R. */
function pseudoInverseSolve(design: Float64Array, rhs: Float64Array, m: number): Float64Array {
  const k = N_TERMS;
  const colNorm = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let s = 0;
    for (let r = 0; r < m; r++) s += design[r * k + j]! * design[r * k + j]!;
    colNorm[j] = s > 0 ? Math.sqrt(s) : 1;
    for (let r = 0; r < m; r++) design[r * k + j]! /= colNorm[j]!;
  }
  // Householder QR in place; rhs becomes Q^T rhs
  const R = new Float64Array(k * k);
  for (let j = 0; j < Math.min(k, m); j++) {
    let norm = 0;
    for (let r = j; r < m; r++) norm += design[r * k + j]! * design[r * k + j]!;
    norm = Math.sqrt(norm);
    if (norm > 0) {
      const alpha = design[j * k + j]! > 0 ? -norm : norm;
      design[j * k + j]! -= alpha; // column j from the diagonal down now holds the reflector v
      let vNorm2 = 0;
      for (let r = j; r < m; r++) vNorm2 += design[r * k + j]! * design[r * k + j]!;
      for (let c = j + 1; c <= k; c++) {
        // columns j+1..k-1 of the design, then (c === k) the right-hand side
        let dot = 0;
        for (let r = j; r < m; r++) dot += design[r * k + j]! * (c < k ? design[r * k + c]! : rhs[r]!);
        const f = (2 * dot) / vNorm2;
        for (let r = j; r < m; r++) {
          if (c < k) design[r * k + c]! -= f * design[r * k + j]!;
          else rhs[r]! -= f * design[r * k + j]!;
        }
      }
      R[j * k + j] = alpha;
    }
    for (let c = j + 1; c < k; c++) R[j * k + c] = design[j * k + c]!;
  }
  const { u, sigma, v } = jacobiSvd(R, k);
  const sigmaMax = Math.max(...sigma);
  const tol = sigmaMax * 100 * MACHINE_EPSILON;
  const gamma = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    if (sigma[j]! > tol) {
      let dot = 0;
      for (let i = 0; i < k; i++) dot += u[i * k + j]! * rhs[i]!;
      gamma[j] = dot / sigma[j]!;
    }
  }
  const coef = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += v[i * k + j]! * gamma[j]!;
    coef[i] = s / colNorm[i]!;
  }
  return coef;
}

/** SVD of a small square matrix A = U diag(sigma) V^T by one-sided Jacobi rotations. */
function jacobiSvd(A: Float64Array, k: number): { u: Float64Array; sigma: Float64Array; v: Float64Array } {
  const a = Float64Array.from(A);
  const v = new Float64Array(k * k);
  for (let i = 0; i < k; i++) v[i * k + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < k - 1; p++) {
      for (let q = p + 1; q < k; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < k; i++) {
          alpha += a[i * k + p]! ** 2;
          beta += a[i * k + q]! ** 2;
          gamma += a[i * k + p]! * a[i * k + q]!;
        }
        if (Math.abs(gamma) <= 1e-300 || Math.abs(gamma) <= MACHINE_EPSILON * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (const m of [a, v]) {
          for (let i = 0; i < k; i++) {
            const x = m[i * k + p]!;
            const y = m[i * k + q]!;
            m[i * k + p] = c * x - s * y;
            m[i * k + q] = s * x + c * y;
          }
        }
      }
    }
    if (!rotated) break;
  }
  const sigma = new Float64Array(k);
  const u = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    let s = 0;
    for (let i = 0; i < k; i++) s += a[i * k + j]! ** 2;
    sigma[j] = Math.sqrt(s);
    for (let i = 0; i < k; i++) u[i * k + j] = sigma[j]! > 0 ? a[i * k + j]! / sigma[j]! : 0;
  }
  return { u, sigma, v };
}

/** A one-dimensional dloess k-d tree: cells are intervals between vertices; leaves carry no split. */
interface KdTree {
  readonly vertices: number[];
  /** Per cell: split value (NaN for a leaf), children, and its lower and upper vertex. */
  readonly split: number[];
  readonly lowChild: number[];
  readonly highChild: number[];
  readonly lowVertex: number[];
  readonly highVertex: number[];
}

/**
 * Builds the tree as ehg126/ehg124 do: a bounding box widened by 0.5 % per side, cells taken in
 * creation order and split at the median point unless they hold at most `leafSize` points; a
 * split that would separate equal x moves to the nearest gap (offsets 0, +1, -1, +2, ...), and a
 * cell whose median lands on its own boundary stays a leaf. Capacity matches R (max(200, n)).
 */
function buildKdTree(sortedX: Float64Array, leafSize: number): KdTree {
  const n = sortedX.length;
  const lo = sortedX[0]!;
  const hi = sortedX[n - 1]!;
  const margin = BOX_MARGIN * Math.max(hi - lo, 1e-10 * Math.max(Math.abs(lo), Math.abs(hi)) + 1e-30);
  const capacity = Math.max(200, n);
  const tree: KdTree = { vertices: [lo - margin, hi + margin], split: [], lowChild: [], highChild: [], lowVertex: [0], highVertex: [1] };
  const first = [0];
  const last = [n - 1];
  for (let p = 0; p < first.length; p++) {
    const l = first[p]!;
    const u = last[p]!;
    tree.split[p] = NaN;
    tree.lowChild[p] = -1;
    tree.highChild[p] = -1;
    const full = first.length + 2 > capacity || tree.vertices.length + 1 > capacity;
    if (u - l + 1 <= leafSize || full) continue;
    let m = Math.floor((l + u) / 2);
    for (let offset = 0; m + offset < u && m + offset >= l; ) {
      if (sortedX[m + offset] !== sortedX[m + offset + 1]) {
        m += offset;
        break;
      }
      offset = offset > 0 ? -offset : -offset + 1;
    }
    const at = sortedX[m]!;
    if (at === tree.vertices[tree.lowVertex[p]!] || at === tree.vertices[tree.highVertex[p]!]) continue;
    tree.split[p] = at;
    const vertex = tree.vertices.push(at) - 1;
    tree.lowChild[p] = first.length;
    first.push(l);
    last.push(m);
    tree.lowVertex.push(tree.lowVertex[p]!);
    tree.highVertex.push(vertex);
    tree.highChild[p] = first.length;
    first.push(m + 1);
    last.push(u);
    tree.lowVertex.push(vertex);
    tree.highVertex.push(tree.highVertex[p]!);
  }
  return tree;
}

/** Cubic Hermite interpolation of the vertex fits over the leaf holding z (ehg128; z on a split goes low). */
function interpolate(tree: KdTree, values: Float64Array, slopes: Float64Array, z: number): number {
  let cell = 0;
  while (!Number.isNaN(tree.split[cell]!)) cell = z <= tree.split[cell]! ? tree.lowChild[cell]! : tree.highChild[cell]!;
  const v0 = tree.lowVertex[cell]!;
  const v1 = tree.highVertex[cell]!;
  const width = tree.vertices[v1]! - tree.vertices[v0]!;
  const h = (z - tree.vertices[v0]!) / width;
  const phi0 = (1 - h) ** 2 * (1 + 2 * h);
  const phi1 = h ** 2 * (3 - 2 * h);
  const psi0 = h * (1 - h) ** 2;
  const psi1 = h ** 2 * (h - 1);
  return phi0 * values[v0]! + phi1 * values[v1]! + (psi0 * slopes[v0]! + psi1 * slopes[v1]!) * width;
}
