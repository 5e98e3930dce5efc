import { test } from 'node:test';
import assert from 'node:assert/strict';
import { neighbourGraph } from '../../src/neighbors/graph.js';
import { knn } from '../../src/neighbors/knn.js';
import { gaussianMixture } from '../fixtures/points/mixture.js';

const mixture = gaussianMixture(600, 16, 3, 11);

test('neighbourGraph is symmetric with weights in (0, 1], and links each cell to its nearest neighbours', () => {
  const graph = neighbourGraph(mixture.points, 15);
  assert.equal(graph.nNodes, 600);
  const edges = new Map<string, number>();
  for (let e = 0; e < graph.head.length; e++) {
    const w = graph.weight[e]!;
    assert.ok(w > 0 && w <= 1, `edge ${graph.head[e]} -> ${graph.tail[e]} has weight ${w}`);
    assert.notEqual(graph.head[e], graph.tail[e]);
    edges.set(`${graph.head[e]},${graph.tail[e]}`, w);
  }
  for (const [key, w] of edges) assert.equal(edges.get(key.split(',').reverse().join(',')), w, `edge ${key} is not symmetric`);
  const neighbours = knn(mixture.points, 14);
  for (let i = 0; i < 600; i++) for (let m = 0; m < 14; m++) assert.ok(edges.has(`${i},${neighbours.indices[i * 14 + m]}`));
  // The nearest neighbour's directed membership is 1, so its union weight is 1.
  for (let i = 0; i < 600; i++) assert.ok(Math.abs(edges.get(`${i},${neighbours.indices[i * 14]}`)! - 1) < 1e-12);
});
