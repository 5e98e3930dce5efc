/**
 * Louvain community detection (Blondel et al. 2008) with a resolution γ (modularity
 * Σ_C [w_in(C)/2m − γ (tot(C)/2m)²], as scanpy's and Seurat's graph clustering), and a partition into
 * exactly K communities: Louvain brought to at least K, the smallest communities merged into the
 * neighbour they share most weight with, the most modular of several node orders.
 */
import type { WeightedGraph } from '../neighbors/graph.js';
import { Rng } from '../random.js';

/** Adjacency in compressed rows, and each node's self-loop weight (an aggregated community's internal weight, both directions). */
interface Level {
  readonly n: number;
  readonly start: Int32Array;
  readonly neighbour: Int32Array;
  readonly weight: Float64Array;
  readonly self: Float64Array;
}

function toLevel(graph: WeightedGraph): Level {
  const { nNodes: n, head, tail, weight } = graph;
  if (tail.length !== head.length || weight.length !== head.length) throw new RangeError('louvain: head, tail and weight lengths differ');
  const start = new Int32Array(n + 1);
  const self = new Float64Array(n);
  for (let e = 0; e < head.length; e++) {
    if (!(weight[e]! >= 0)) throw new RangeError(`louvain: edge ${e} has weight ${weight[e]}; weights must be >= 0`);
    if (head[e] === tail[e]) self[head[e]!] += weight[e]!;
    else start[head[e]! + 1]++;
  }
  for (let i = 0; i < n; i++) start[i + 1] += start[i]!;
  const fill = start.slice(0, n);
  const neighbour = new Int32Array(start[n]!);
  const w = new Float64Array(start[n]!);
  for (let e = 0; e < head.length; e++) {
    if (head[e] === tail[e]) continue;
    const at = fill[head[e]!]++;
    neighbour[at] = tail[e]!;
    w[at] = weight[e]!;
  }
  return { n, start, neighbour, weight: w, self };
}

function strengths(level: Level): Float64Array {
  const k = Float64Array.from(level.self);
  for (let i = 0; i < level.n; i++) for (let e = level.start[i]!; e < level.start[i + 1]!; e++) k[i] += level.weight[e]!;
  return k;
}

/** Local-moving sweeps per level at most (they converge in far fewer). */
const MAX_SWEEPS = 100;

/** Local moving: each node, in a seeded order, joins the neighbouring community of largest modularity gain, until a sweep moves none. Returns whether any node moved. */
function moveNodes(level: Level, community: Int32Array, resolution: number, rng: Rng): boolean {
  const { n, start, neighbour, weight } = level;
  const k = strengths(level);
  const m2 = k.reduce((a, b) => a + b, 0);
  if (m2 === 0) return false;
  const total = new Float64Array(n);
  for (let i = 0; i < n; i++) total[community[i]!] += k[i]!;
  const linkTo = new Float64Array(n);
  const touched = new Int32Array(n);
  const order = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
  let movedAny = false;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let moved = 0;
    for (const i of order) {
      const own = community[i]!;
      let nTouched = 0;
      for (let e = start[i]!; e < start[i + 1]!; e++) {
        const c = community[neighbour[e]!]!;
        if (linkTo[c] === 0) touched[nTouched++] = c;
        linkTo[c] += weight[e]!;
      }
      total[own] -= k[i]!;
      const scale = (resolution * k[i]!) / m2;
      let best = own;
      let bestGain = linkTo[own]! - scale * total[own]!;
      for (let t = 0; t < nTouched; t++) {
        const c = touched[t]!;
        const gain = linkTo[c]! - scale * total[c]!;
        if (gain > bestGain + 1e-12) [best, bestGain] = [c, gain];
      }
      for (let t = 0; t < nTouched; t++) linkTo[touched[t]!] = 0;
      linkTo[own] = 0;
      total[best] += k[i]!;
      if (best !== own) {
        community[i] = best;
        moved++;
      }
    }
    if (moved === 0) break;
    movedAny = true;
  }
  return movedAny;
}

/** Relabel communities 0..C−1 in order of first appearance; returns C. */
function compact(community: Int32Array): number {
  const map = new Int32Array(community.length).fill(-1);
  let next = 0;
  for (let i = 0; i < community.length; i++) {
    const c = community[i]!;
    if (map[c] < 0) map[c] = next++;
    community[i] = map[c]!;
  }
  return next;
}

/** The graph of communities: summed edge weights between them, internal weight as self-loops. */
function aggregate(level: Level, community: Int32Array, nCommunities: number): Level {
  const members = Array.from({ length: nCommunities }, () => [] as number[]);
  for (let i = 0; i < level.n; i++) members[community[i]!]!.push(i);
  const self = new Float64Array(nCommunities);
  const acc = new Float64Array(nCommunities);
  const seen = new Int32Array(nCommunities).fill(-1);
  const start = new Int32Array(nCommunities + 1);
  const neighbour: number[] = [];
  const weight: number[] = [];
  for (let c = 0; c < nCommunities; c++) {
    const linked: number[] = [];
    for (const i of members[c]!) {
      self[c] += level.self[i]!;
      for (let e = level.start[i]!; e < level.start[i + 1]!; e++) {
        const d = community[level.neighbour[e]!]!;
        if (d === c) self[c] += level.weight[e]!;
        else {
          if (seen[d] !== c) ((seen[d] = c), (acc[d] = 0), linked.push(d));
          acc[d] += level.weight[e]!;
        }
      }
    }
    for (const d of linked) (neighbour.push(d), weight.push(acc[d]!));
    start[c + 1] = neighbour.length;
  }
  return { n: nCommunities, start, neighbour: Int32Array.from(neighbour), weight: Float64Array.from(weight), self };
}

/** Louvain communities at resolution γ, numbered 0..C−1 by decreasing size (ties: first node). */
export function louvain(graph: WeightedGraph, options: { resolution?: number; seed?: number } = {}): Int32Array {
  const { resolution = 1, seed = 0 } = options;
  if (!(resolution > 0)) throw new RangeError(`louvain: resolution must be > 0, got ${resolution}`);
  const rng = new Rng(seed);
  const membership = Int32Array.from({ length: graph.nNodes }, (_, i) => i);
  let level = toLevel(graph);
  for (;;) {
    const community = Int32Array.from({ length: level.n }, (_, i) => i);
    if (!moveNodes(level, community, resolution, rng)) break;
    const nCommunities = compact(community);
    for (let i = 0; i < membership.length; i++) membership[i] = community[membership[i]!]!;
    if (nCommunities === level.n) break;
    level = aggregate(level, community, nCommunities);
  }
  return bySize(membership);
}

/** Renumber labels 0..C−1 by decreasing size (ties: the label first met). */
function bySize(labels: Int32Array): Int32Array {
  const n = compact(labels);
  const size = new Int32Array(n);
  for (const c of labels) size[c]++;
  const rank = new Int32Array(n);
  Array.from({ length: n }, (_, c) => c)
    .sort((a, b) => size[b]! - size[a]! || a - b)
    .forEach((c, r) => (rank[c] = r));
  return labels.map((c) => rank[c]!);
}

/** Modularity Σ_C [w_in(C)/2m − γ (tot(C)/2m)²] of a partition. */
export function modularity(graph: WeightedGraph, labels: Int32Array, resolution = 1): number {
  const n = countLabels(labels);
  const inside = new Float64Array(n);
  const total = new Float64Array(n);
  let m2 = 0;
  for (let e = 0; e < graph.head.length; e++) {
    const [a, b, w] = [labels[graph.head[e]!]!, labels[graph.tail[e]!]!, graph.weight[e]!];
    total[a] += w;
    if (a === b) inside[a] += w;
    m2 += w;
  }
  if (m2 === 0) return 0;
  let q = 0;
  for (let c = 0; c < n; c++) q += inside[c]! / m2 - resolution * (total[c]! / m2) ** 2;
  return q;
}

function countLabels(labels: Int32Array): number {
  let max = -1;
  for (const c of labels) if (c > max) max = c;
  return max + 1;
}

/**
 * Merge the smallest community into the one it shares most edge weight with (a community with no
 * outside edges joins the smallest other one) while more than `k` remain or the smallest has fewer
 * than `minSize` nodes.
 */
function mergeSmallest(graph: WeightedGraph, labels: Int32Array, k: number, minSize = 0): Int32Array {
  const out = labels.slice();
  let n = countLabels(out);
  const size = new Int32Array(n);
  for (const c of out) size[c]++;
  const alive = new Uint8Array(n).fill(1);
  for (; n > 1; n--) {
    let smallest = -1;
    for (let c = 0; c < alive.length; c++) if (alive[c] && (smallest < 0 || size[c]! < size[smallest]!)) smallest = c;
    if (n <= k && size[smallest]! >= minSize) break;
    const link = new Float64Array(alive.length);
    for (let e = 0; e < graph.head.length; e++) {
      const [a, b] = [out[graph.head[e]!]!, out[graph.tail[e]!]!];
      if (a === smallest && b !== smallest) link[b] += graph.weight[e]!;
    }
    let target = -1;
    for (let c = 0; c < alive.length; c++) {
      if (!alive[c] || c === smallest) continue;
      if (target < 0 || link[c]! > link[target]! || (link[c] === link[target] && link[c] === 0 && size[c]! < size[target]!)) target = c;
    }
    for (let i = 0; i < out.length; i++) if (out[i] === smallest) out[i] = target;
    size[target] += size[smallest]!;
    alive[smallest] = 0;
  }
  return bySize(out);
}

/** Louvain at resolution 1, or at the smallest larger resolution (bisected on a log scale) that gives at least k communities. */
function louvainWithAtLeast(graph: WeightedGraph, k: number, seed: number): Int32Array {
  const at = (resolution: number) => louvain(graph, { resolution, seed });
  const standard = at(1);
  if (countLabels(standard) >= k) return standard;
  let [lo, hi] = [1, 1];
  let enough: Int32Array | null = null;
  while (!enough && hi < 1e6) {
    [lo, hi] = [hi, hi * 4];
    const tried = at(hi);
    if (countLabels(tried) >= k) enough = tried;
  }
  for (let i = 0; i < 16 && enough && hi / lo > 1.01; i++) {
    const mid = Math.sqrt(lo * hi);
    const tried = at(mid);
    if (countLabels(tried) >= k) [hi, enough] = [mid, tried];
    else lo = mid;
  }
  // Every node alone has n > k communities: the fallback should no resolution reach k.
  return enough ?? Int32Array.from({ length: graph.nNodes }, (_, i) => i);
}

/** Louvain restarts (node orders) that partitionGraph compares. */
export const PARTITION_RESTARTS = 10;

/**
 * Exactly `k` communities (fewer only when the graph has fewer nodes): Louvain brought to at least k
 * communities, then merged down to k; of `restarts` node orders, the partition of highest modularity.
 * Merging keeps the modularity optimum's splits, where lowering the resolution fuses the most
 * connected pairs first; the node order moves the result, hence the restarts (docs/decisions.md).
 */
export function partitionGraph(graph: WeightedGraph, k: number, options: { seed?: number; restarts?: number } = {}): Int32Array {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`partitionGraph: k must be a positive integer, got ${k}`);
  const restarts = options.restarts ?? PARTITION_RESTARTS;
  if (!Number.isInteger(restarts) || restarts < 1) throw new RangeError(`partitionGraph: restarts must be a positive integer, got ${restarts}`);
  if (graph.nNodes <= k) return Int32Array.from({ length: graph.nNodes }, (_, i) => i);
  const rng = new Rng(options.seed ?? 0);
  let best: Int32Array | null = null;
  let bestModularity = -Infinity;
  for (let r = 0; r < restarts; r++) {
    const labels = mergeSmallest(graph, louvainWithAtLeast(graph, k, rng.int()), k);
    const q = modularity(graph, labels);
    if (q > bestModularity) [best, bestModularity] = [labels, q];
  }
  return best!;
}

/**
 * Communities at `resolution` as scanpy's `tl.louvain` finds them (higher: more and smaller), the most
 * modular of `restarts` node orders, with communities of fewer than `minSize` nodes merged into the one
 * they share most weight with. Numbered by decreasing size.
 */
export function communities(graph: WeightedGraph, options: { resolution: number; minSize: number; seed?: number; restarts?: number }): Int32Array {
  const restarts = options.restarts ?? PARTITION_RESTARTS;
  if (!Number.isInteger(restarts) || restarts < 1) throw new RangeError(`communities: restarts must be a positive integer, got ${restarts}`);
  const rng = new Rng(options.seed ?? 0);
  let best: Int32Array | null = null;
  let bestModularity = -Infinity;
  for (let r = 0; r < restarts; r++) {
    const labels = louvain(graph, { resolution: options.resolution, seed: rng.int() });
    const q = modularity(graph, labels, options.resolution);
    if (q > bestModularity) [best, bestModularity] = [labels, q];
  }
  return graph.nNodes > 0 ? mergeSmallest(graph, best!, Infinity, options.minSize) : best!;
}
