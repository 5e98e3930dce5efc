/** The training loop's small parts, each on its own: early stopping, the NaN guard, revival, the placement schedule. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { pickBackend } from '../../src/model/backend.js';
import type { ModuleConfig } from '../../src/model/config.js';
import type { PreparedData } from '../../src/model/data.js';
import { CgmvaeModule } from '../../src/model/module.js';
import { AdamW } from '../../src/model/optimizer.js';
import { EarlyStopping } from '../../src/model/train/early-stopping.js';
import { NanGuard, TrainingDivergedError } from '../../src/model/train/nan-guard.js';
import { PlacementSchedule } from '../../src/model/train/placement.js';
import { ComponentRevival } from '../../src/model/train/revive.js';
import { Rng } from '../../src/random.js';
import { thesisBlobs } from '../fixtures/model/blobs.js';

await pickBackend({ force: 'wasm', log: () => {} });

function oneVariable(value: number): { v: tf.Variable; optimizer: AdamW } {
  const v = tf.variable(tf.scalar(value));
  return { v, optimizer: new AdamW([v], new Set(), { weightDecay: 0 }) };
}

test('early stopping: improvements beyond minDelta reset the count, patience epochs without one stop, the best weights come back', () => {
  const { v, optimizer } = oneVariable(1);
  const stopping = new EarlyStopping(() => [v], optimizer, 2, 0.1);
  assert.equal(stopping.bestEpoch, null);
  assert.equal(stopping.observe(0, 10), false);
  v.assign(tf.scalar(2));
  assert.equal(stopping.observe(1, 9.95), false, 'within minDelta: no improvement, one epoch counted');
  assert.equal(stopping.observe(2, NaN), false, 'a non-finite loss is ignored');
  assert.equal(stopping.observe(3, 9.99), true, 'the second epoch without improvement stops');
  assert.equal(stopping.bestEpoch, 0);
  stopping.restoreBest();
  assert.equal(v.dataSync()[0], 1);
  stopping.reset();
  assert.equal(stopping.bestEpoch, null);
  assert.equal(stopping.observe(4, 50), false, 'after a reset any loss is the best');
  assert.equal(stopping.bestEpoch, 4);
  assert.equal(new EarlyStopping(() => [v], optimizer, 0, 0).observe(0, 1), false);
  stopping.dispose();
  optimizer.dispose();
  v.dispose();
});

test('the NaN guard restores the last checkpoint and cuts the rate tenfold, then gives up', () => {
  const { v, optimizer } = oneVariable(3);
  const guard = new NanGuard(() => [v], optimizer, 2);
  v.assign(tf.scalar(4));
  optimizer.stepCount = 7;
  guard.checkpoint();
  v.assign(tf.scalar(NaN));
  optimizer.stepCount = 9;
  assert.match(guard.rollback(5, 1e-3), /non-finite loss at epoch 5; rolled back, learning rate x0.1/);
  assert.equal(v.dataSync()[0], 4);
  assert.equal(optimizer.stepCount, 7);
  assert.ok(Math.abs(guard.lrScale - 0.1) < 1e-12);
  guard.rollback(5, 1e-4);
  assert.throws(() => guard.rollback(5, 1e-5), (error: unknown) => error instanceof TrainingDivergedError && /after 2 learning-rate cuts \(last rate 0.00001\)/.test((error as Error).message));
  assert.equal(guard.rollbacks, 3);
  guard.dispose();
  optimizer.dispose();
  v.dispose();
});

const config: ModuleConfig = {
  nInput: 6, nClusters: 3, latentDim: 2, wDim: 1, hidden: [8], latentHidden: [4], dropout: 0, likelihood: 'mse',
  dirichletAlpha: 1, yEpsilon: 1e-3, learnedWPrior: false, classifyWithMean: true, centerByCondition: false, conditionSizes: [],
};

test('revival re-seeds components below a twentieth of an even share, only when enabled and before 80 % of the epochs', () => {
  const module = new CgmvaeModule(config, 1);
  const rng = new Rng(2);
  const usage = [0.6, 0.39, 0.01];
  assert.deepEqual(new ComponentRevival(false, 10).afterEpoch(0, module, usage, rng), []);
  assert.deepEqual(new ComponentRevival(true, 10).afterEpoch(8, module, usage, rng), []);
  const head = () => (module.params.trainable.get('qy/out/b')!.dataSync() as Float32Array).slice();
  const before = head();
  assert.deepEqual(new ComponentRevival(true, 10).afterEpoch(7, module, usage, rng), [2]);
  const after = head();
  // The dead component copies the most used one's logit, each lowered by ln 2.
  assert.ok(Math.abs(after[2]! - (before[0]! - Math.LN2)) < 1e-6 && Math.abs(after[0]! - (before[0]! - Math.LN2)) < 1e-6);
  assert.deepEqual(new ComponentRevival(true, 10).afterEpoch(0, module, [0.34, 0.33, 0.33], rng), []);
  module.dispose();
});

test('the placement schedule places once at its epoch, anchors for its share of the rest, then lets go', () => {
  const blobs = thesisBlobs(4, 6, 3, 1, 30);
  const data: PreparedData = { x: blobs.x, nCells: blobs.x.nRows, conditionCodes: [], conditionSizes: [], labelCodes: null, nClusters: 3, libSize: null, conditionOffsets: null };
  const module = new CgmvaeModule(config, 1);
  const optimizer = new AdamW([...module.params.trainable.values()], new Set(), { weightDecay: 0 });
  const rows = Int32Array.from({ length: data.nCells }, (_, i) => i);
  const schedule = new PlacementSchedule({ componentInitEpochs: 2, componentPlacement: 'kmeans', resolution: null, anchorShare: 0.5, epochs: 10 }, true);
  const rng = new Rng(3);
  assert.equal(schedule.afterEpoch(0, module, optimizer, data, rows, rng), null);
  assert.equal(schedule.anchoredData, null);
  assert.match(schedule.afterEpoch(1, module, optimizer, data, rows, rng) ?? '', /epoch 1: 3 components placed on a kmeans partition .* training on it for 4 epochs/);
  const labels = schedule.anchoredData!.labelCodes!;
  assert.equal(labels.length, data.nCells);
  assert.ok(labels.every((l) => l >= 0 && l < 3));
  for (let epoch = 2; epoch < 5; epoch++) {
    assert.equal(schedule.afterEpoch(epoch, module, optimizer, data, rows, rng), null);
    assert.ok(schedule.anchoredData, `still anchored after epoch ${epoch}`);
  }
  schedule.afterEpoch(5, module, optimizer, data, rows, rng);
  assert.equal(schedule.anchoredData, null, 'the anchor ends after its 4 epochs');
  const off = new PlacementSchedule({ componentInitEpochs: 2, componentPlacement: 'kmeans', resolution: null, anchorShare: 0.5, epochs: 10 }, false);
  assert.equal(off.afterEpoch(1, module, optimizer, data, rows, rng), null, 'labelled data are never placed');
  const communities = (componentPlacement: 'kmeans' | 'louvain', resolution: number | null) =>
    new PlacementSchedule({ componentInitEpochs: 2, componentPlacement, resolution, anchorShare: 0.5, epochs: 10 }, true).placesOnCommunities;
  assert.deepEqual([communities('kmeans', null), communities('louvain', null), communities('kmeans', 0.5)], [false, true, true], 'k-means keeps revival through its anchor; communities do not');
  optimizer.dispose();
  module.dispose();
});

test('with a resolution, the placement\'s Louvain communities set the number of components, and the heads and optimizer follow', () => {
  const blobs = thesisBlobs(4, 6, 4, 1, 60);
  const data: PreparedData = { x: blobs.x, nCells: blobs.x.nRows, conditionCodes: [], conditionSizes: [], labelCodes: null, nClusters: 3, libSize: null, conditionOffsets: null };
  const module = new CgmvaeModule(config, 1);
  const optimizer = new AdamW([...module.params.trainable.values()], new Set(), { weightDecay: 0 });
  const before = optimizer.stateVariables().length;
  const schedule = new PlacementSchedule({ componentInitEpochs: 1, componentPlacement: 'louvain', resolution: 1, anchorShare: 0.5, epochs: 10 }, true);
  const rows = Int32Array.from({ length: data.nCells }, (_, i) => i);
  const message = schedule.afterEpoch(0, module, optimizer, data, rows, new Rng(5)) ?? '';
  const k = module.config.nClusters;
  assert.match(message, new RegExp(`^epoch 0: ${k} components placed on a Louvain partition at resolution 1 of the latent means`));
  assert.ok(k >= 2, `${k} communities`);
  assert.equal(schedule.anchoredData!.nClusters, k);
  assert.equal(Math.max(...schedule.anchoredData!.labelCodes!) + 1, k);
  assert.deepEqual(module.params.trainable.get('qy/out/W')!.shape, [4, k]);
  assert.deepEqual(module.params.trainable.get('pz/out/b')!.shape, [2 * k * config.latentDim]);
  assert.equal(optimizer.stateVariables().length, before, 'one moment pair per variable, the rebuilt heads included');
  optimizer.dispose();
  module.dispose();
});
