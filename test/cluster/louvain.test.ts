import { test } from 'node:test';
import assert from 'node:assert/strict';
import { louvain, modularity, partitionGraph } from '../../src/cluster/louvain.js';
import type { WeightedGraph } from '../../src/neighbors/graph.js';

/** Undirected edges [a, b, w] as a both-direction edge list. */
function graphOf(nNodes: number, edges: [number, number, number][]): WeightedGraph {
  const both = edges.flatMap(([a, b, w]) => [[a, b, w], [b, a, w]] as [number, number, number][]);
  return { nNodes, head: Int32Array.from(both, (e) => e[0]), tail: Int32Array.from(both, (e) => e[1]), weight: Float64Array.from(both, (e) => e[2]) };
}

/** `sizes.length` cliques of the given sizes, clique i joined to clique i+1 by one edge of weight `bridge[i]`. */
function cliqueChain(sizes: number[], bridge: number[]): { graph: WeightedGraph; truth: Int32Array } {
  const edges: [number, number, number][] = [];
  const truth: number[] = [];
  let first = 0;
  sizes.forEach((size, c) => {
    for (let i = 0; i < size; i++) for (let j = i + 1; j < size; j++) edges.push([first + i, first + j, 1]);
    if (c + 1 < sizes.length) edges.push([first + size - 1, first + size, bridge[c]!]);
    for (let i = 0; i < size; i++) truth.push(c);
    first += size;
  });
  return { graph: graphOf(first, edges), truth: Int32Array.from(truth) };
}

/** Same partition up to renaming. */
function samePartition(a: Int32Array, b: Int32Array): boolean {
  const ab = new Map<number, number>();
  const ba = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if ((ab.get(a[i]!) ?? b[i]) !== b[i] || (ba.get(b[i]!) ?? a[i]) !== a[i]) return false;
    ab.set(a[i]!, b[i]!);
    ba.set(b[i]!, a[i]!);
  }
  return true;
}

test('louvain finds the cliques of a chain, numbered by decreasing size', () => {
  const { graph, truth } = cliqueChain([5, 8, 6], [1, 1]);
  const labels = louvain(graph, { seed: 1 });
  assert.ok(samePartition(labels, truth), Array.from(labels).join(','));
  // The 8-clique is the largest: label 0; the 6-clique next.
  assert.equal(labels[5], 0);
  assert.equal(labels[13], 1);
  assert.equal(labels[0], 2);
});

test('louvain: a higher resolution gives more communities, and the same seed the same result', () => {
  const { graph } = cliqueChain([6, 6, 6, 6], [3, 3, 3]);
  const count = (l: Int32Array) => Math.max(...l) + 1;
  assert.ok(count(louvain(graph, { resolution: 0.05 })) < count(louvain(graph, { resolution: 1 })));
  assert.ok(count(louvain(graph, { resolution: 10 })) > 4);
  assert.deepEqual(louvain(graph, { resolution: 0.7, seed: 3 }), louvain(graph, { resolution: 0.7, seed: 3 }));
});

test('partitionGraph gives exactly k communities, merging the smallest into its best-connected neighbour', () => {
  // Cliques of 10, 10, 3, 10; the 3-clique hangs off the second clique by weight 2 and the fourth by 0.5.
  const { graph } = cliqueChain([10, 10, 3, 10], [0.5, 2, 0.5]);
  const four = partitionGraph(graph, 4, { seed: 0 });
  assert.equal(Math.max(...four) + 1, 4);
  const three = partitionGraph(graph, 3, { seed: 0 });
  assert.equal(Math.max(...three) + 1, 3);
  assert.equal(three[20], three[19], 'the 3-clique joins the clique it shares most weight with');
  assert.notEqual(three[0], three[10]);
  assert.notEqual(three[10], three[30]);
  // More communities than the graph's cliques: Louvain at a higher resolution splits them.
  assert.equal(Math.max(...partitionGraph(graph, 6, { seed: 0 })) + 1, 6);
  // As many nodes as k or fewer: each node alone.
  assert.deepEqual(partitionGraph(graphOf(3, [[0, 1, 1]]), 5), Int32Array.from([0, 1, 2]));
});

test('partitionGraph merges a component with no outside edges into the smallest other community', () => {
  // The 5-clique (nodes 17-21) touches the 9-clique only by a zero-weight edge; the 8-clique (nodes 0-7) is the smallest other.
  const { graph } = cliqueChain([8, 9, 5], [1, 0]);
  const two = partitionGraph(graph, 2);
  assert.equal(Math.max(...two) + 1, 2);
  assert.equal(two[17], two[0]);
  assert.notEqual(two[0], two[8]);
});

test('modularity matches a hand computation', () => {
  // Two triangles joined by one edge: m = 7; each side has 3 internal edges and degree sum 7.
  const graph = graphOf(6, [[0, 1, 1], [1, 2, 1], [0, 2, 1], [3, 4, 1], [4, 5, 1], [3, 5, 1], [2, 3, 1]]);
  const split = Int32Array.from([0, 0, 0, 1, 1, 1]);
  assert.ok(Math.abs(modularity(graph, split) - 2 * (6 / 14 - (7 / 14) ** 2)) < 1e-12);
  assert.ok(Math.abs(modularity(graph, split, 2) - 2 * (6 / 14 - 2 * (7 / 14) ** 2)) < 1e-12);
  assert.ok(Math.abs(modularity(graph, new Int32Array(6))) < 1e-12, 'one community has modularity 0');
});

test('partitionGraph keeps the most modular of its restarts', () => {
  // Six cliques brought to three: node orders may merge differently; the first restart is the single run's.
  const { graph } = cliqueChain([7, 5, 9, 6, 8, 4], [2, 1, 3, 1, 2]);
  for (const seed of [0, 1, 2]) {
    const single = partitionGraph(graph, 3, { seed, restarts: 1 });
    const several = partitionGraph(graph, 3, { seed, restarts: 8 });
    assert.ok(modularity(graph, several) >= modularity(graph, single) - 1e-12);
  }
  assert.throws(() => partitionGraph(graph, 3, { restarts: 0 }), /restarts must be a positive integer/);
});

test('louvain rejects negative weights and mismatched edge arrays', () => {
  assert.throws(() => louvain(graphOf(2, [[0, 1, -1]])), /weights must be >= 0/);
  assert.throws(() => louvain({ nNodes: 2, head: Int32Array.of(0), tail: Int32Array.of(1, 0), weight: Float64Array.of(1) }), /lengths differ/);
  assert.throws(() => partitionGraph(graphOf(2, [[0, 1, 1]]), 0), /k must be a positive integer/);
});
