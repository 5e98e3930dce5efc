import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedBlocks, type BlockCache } from '../../src/io/block-cache.js';
import { readDataset } from '../../src/io/index.js';
import { gatherBlocks, inMemoryBlocks, type RowBlocks } from '../../src/io/row-blocks.js';
import { selectColumns } from '../../src/io/sparse.js';
import type { AnnData } from '../../src/io/types.js';
import { flaggedIndices, preprocess, preprocessHighlyVariable, type PreprocessOptions } from '../../src/preprocess/index.js';
import { fixtures } from './helpers.js';

const { data: read } = await readDataset(join(fixtures, 'pbmc3k_subset'));
const data: AnnData = {
  ...read,
  obs: { index: read.obs.index, columns: new Map([['sample', { kind: 'string', values: read.obs.index.map((_, r) => ['a', 'b', 'c'][r % 3]!) }]]) },
};
const tutorial: PreprocessOptions = { minCells: 3, minGenes: 121, maxGenes: 319, maxPctMito: 5, targetSum: 1e4, flavor: 'seurat_v3', nTopGenes: 150 };

/** The matrix in blocks of about `maxValues` stored values, whatever block size its consumers ask for. */
function inBlocksOf(maxValues: number): RowBlocks {
  const source = inMemoryBlocks(data.X);
  return { ...source, eachBlock: (visit) => source.eachBlock(visit, maxValues) };
}

test('preprocessing in blocks of rows gives what preprocess gives, for every flavour, batches, median targets and excluded genes', async () => {
  const cacheDir = await mkdtemp(join(tmpdir(), 'stream-'));
  const cases: [string, PreprocessOptions][] = [
    ['seurat_v3', tutorial],
    ['seurat_v3 with batches', { ...tutorial, batchKey: 'sample' }],
    ['seurat_v3_paper with batches', { ...tutorial, flavor: 'seurat_v3_paper', batchKey: 'sample' }],
    ['seurat, cutoffs, median target', { ...tutorial, flavor: 'seurat', nTopGenes: undefined, targetSum: 'median' }],
    ['seurat with batches, log base 2', { ...tutorial, flavor: 'seurat', batchKey: 'sample', logBase: 2 }],
    ['cell_ranger, excluding highly expressed genes', { ...tutorial, flavor: 'cell_ranger', excludeHighlyExpressed: true, maxFraction: 0.02 }],
  ];
  for (const [name, options] of cases) {
    const whole = preprocess(data, options);
    const hvg = flaggedIndices(whole.hvg.highly_variable);
    for (const [maxValues, cached] of [[600, false], [5000, true]] as const) {
      const cachePath = join(cacheDir, `${name}.blocks`);
      let made: BlockCache | undefined;
      const cache = cached ? (kept: RowBlocks) => (made = cachedBlocks(kept, cachePath)) : undefined;
      const passes: number[] = [];
      const blocks = preprocessHighlyVariable({ X: inBlocksOf(maxValues), obs: data.obs, var: data.var, values: 'counts' }, options, { cache, onPass: (f) => f === 1 && passes.push(f) });
      const what = `${name}, blocks of ${maxValues} values${cached ? ', cached' : ''}`;
      assert.ok(passes.length >= 3, `${what}: every pass reports its end (${passes.length})`);
      // The kept cells and genes by blocks: the counts and log values preprocess keeps whole.
      assert.deepEqual(gatherBlocks(blocks.kept.counts), whole.data.layers!.get('counts')!, what);
      assert.deepEqual(gatherBlocks(blocks.kept.X), whole.data.X, what);
      assert.equal(made !== undefined, cached, what);
      made?.dispose();
      assert.ok(!existsSync(cachePath), `${what}: the cache is gone once disposed of`);
      assert.deepEqual([blocks.qc, blocks.hvg, blocks.normalize, blocks.log1p, blocks.summary], [whole.qc, whole.hvg, whole.normalize, whole.log1p, whole.summary], what);
      assert.deepEqual([blocks.obs, blocks.var, blocks.uns], [whole.data.obs, whole.data.var, whole.data.uns], what);
      assert.deepEqual(blocks.highlyVariable, hvg, what);
      assert.deepEqual(blocks.counts, selectColumns(whole.data.layers!.get('counts')!, hvg), what);
      assert.deepEqual(blocks.X, selectColumns(whole.data.X, hvg), what);
    }
  }
  await rm(cacheDir, { recursive: true });
});

test('preprocessing in blocks refuses what preprocess refuses', () => {
  const X = inBlocksOf(600);
  assert.throws(() => preprocessHighlyVariable({ X, obs: data.obs, var: data.var, values: 'lognorm' }, tutorial), /needs raw counts, but the matrix holds lognorm values/);
  assert.throws(() => preprocessHighlyVariable({ X, obs: data.obs, var: data.var, values: 'counts' }, { ...tutorial, batchKey: 'donor' }), /batch_key "donor" is not a column/);
  assert.throws(() => preprocessHighlyVariable({ X, obs: data.obs, var: data.var, values: 'counts' }, { ...tutorial, minGenes: 1000, maxGenes: undefined }), /the QC filters keep 0 of 160 cells/);
  const fractional = Float32Array.from(data.X.data);
  fractional[data.X.indptr[100]! + 1] = 0.5;
  const notCounts = inMemoryBlocks({ ...data.X, data: fractional });
  assert.throws(() => preprocessHighlyVariable({ X: notCounts, obs: data.obs, var: data.var, values: 'counts' }, tutorial), /needs raw counts, but cell 101 holds 0.5/, 'a value the sample missed');
});
