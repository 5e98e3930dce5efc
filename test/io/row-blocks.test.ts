import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cachedBlocks } from '../../src/io/block-cache.js';
import { blockRanges, gatherBlocks, inMemoryBlocks, mapBlocks, subsetBlocks, type RowBlocks } from '../../src/io/row-blocks.js';
import { submatrix } from '../../src/io/sparse.js';
import type { CsrMatrix } from '../../src/io/types.js';
import { csrFromRows } from '../preprocess/helpers.js';
import { tempDir } from './fixtures.js';

const X: CsrMatrix = csrFromRows([
  [1, 0, 2, 0],
  [0, 0, 0, 0],
  [3, 4, 0, 5],
  [0, 6, 0, 0],
  [7, 0, 8, 9],
]);

/** Each block's first row and row count. */
function layout(source: RowBlocks, maxValues?: number): Array<[number, number]> {
  const seen: Array<[number, number]> = [];
  source.eachBlock((block, first) => seen.push([first, block.nRows]), maxValues);
  return seen;
}

describe('row blocks', () => {
  it('cuts rows into consecutive blocks of at most the values asked, a longer row alone', () => {
    assert.deepEqual(blockRanges(X.indptr, X.nRows, 3), [[0, 2], [2, 3], [3, 4], [4, 5]]);
    assert.deepEqual(blockRanges(X.indptr, X.nRows, 1), [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]]);
    assert.deepEqual(blockRanges(X.indptr, X.nRows, 100), [[0, 5]]);
    assert.deepEqual(layout(inMemoryBlocks(X)), [[0, 5]], 'a matrix in memory is one block unless asked');
    assert.deepEqual(gatherBlocks(inMemoryBlocks(X), 2), X);
  });

  it('subsets rows and columns block by block as submatrix does on the whole', () => {
    const keep = Uint8Array.from([1, 1, 0, 1, 1]);
    const columns = Int32Array.from([3, 0, -1]);
    const whole = submatrix(X, Int32Array.from([0, 1, 3, 4]), columns);
    for (const maxValues of [undefined, 1, 3]) {
      const subset = subsetBlocks(inMemoryBlocks(X), keep, columns);
      assert.equal(subset.nRows, 4);
      assert.deepEqual(gatherBlocks(subset, maxValues), whole, `blocks of ${maxValues}`);
    }
    assert.deepEqual(layout(subsetBlocks(inMemoryBlocks(X), keep, null), 3), [[0, 2], [2, 1], [3, 1]], 'blocks start at their first kept row');
    const doubled = gatherBlocks(mapBlocks(inMemoryBlocks(X), (block) => block.data.map((v) => 2 * v)), 3);
    assert.deepEqual(Array.from(doubled.data), Array.from(X.data, (v) => 2 * v));
  });

  it('a cache gives the first pass\'s blocks on every later pass, keeps only a complete pass, and removes its file', async () => {
    const path = join(await tempDir(), 'cache.blocks');
    let sourcePasses = 0;
    const counted: RowBlocks = { ...inMemoryBlocks(X), eachBlock: (visit, maxValues) => (sourcePasses++, inMemoryBlocks(X).eachBlock(visit, maxValues ?? 3)) };
    const cache = cachedBlocks(counted, path);
    assert.throws(() => cache.eachBlock((_, first) => {
      if (first > 0) throw new Error('stopped');
    }), /stopped/);
    assert.deepEqual(gatherBlocks(cache), X, 'an interrupted pass is read again from the source');
    assert.deepEqual(layout(cache), [[0, 2], [2, 1], [3, 1], [4, 1]]);
    assert.deepEqual(gatherBlocks(cache), X);
    assert.equal(sourcePasses, 2, 'the source is read until one pass completes, then never again');
    assert.ok(existsSync(path));
    cache.dispose();
    assert.ok(!existsSync(path));
    assert.throws(() => cache.eachBlock(() => {}), /after dispose/);
  });
});
