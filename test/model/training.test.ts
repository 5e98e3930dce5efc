import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { fitModel, learningRate, namedSchedule, pickBackend, STEP_DECAY, THESIS_RATES, type FitConfig, type ModelInputs } from '../../src/model/index.js';
import { CgmvaeModule } from '../../src/model/module.js';
import { Rng } from '../../src/random.js';
import { thesisBlobs } from '../fixtures/model/blobs.js';
import { testFitConfig, withTraining } from '../fixtures/model/config.js';

await pickBackend({ force: 'wasm', log: () => {} });

const blobs = thesisBlobs(5, 6, 2, 1, 40);
const inputs: ModelInputs = { x: blobs.x };
const tiny: FitConfig = testFitConfig({ nClusters: 2, latentDim: 2, wDim: 1, hidden: [16], latentHidden: [8], dropout: 0 }, { batchSize: 40, seed: 3, validationFraction: 0.25 });
const moduleConfig = { nInput: 3, latentDim: 2, wDim: 1, hidden: [4], latentHidden: [4], dropout: 0, likelihood: 'mse', dirichletAlpha: 1, yEpsilon: 0, learnedWPrior: false, classifyWithMean: false, centerByCondition: false, conditionSizes: [] } as const;

test('learning-rate schedules', () => {
  const stairs = { kind: 'staircase', rates: THESIS_RATES } as const;
  assert.deepEqual(Array.from({ length: 14 }, (_, e) => learningRate(stairs, e, 14)), THESIS_RATES.flatMap((r) => [r, r]));
  const uneven = { kind: 'staircase', rates: [0, 1, 2, 3, 4, 5, 6] } as const;
  assert.deepEqual(Array.from({ length: 10 }, (_, e) => learningRate(uneven, e, 10)), [0, 0, 1, 2, 2, 3, 4, 4, 5, 6]);
  assert.deepEqual([0, 1, 2].map((e) => learningRate(uneven, e, 3)), [0, 2, 4]);
  const warm = { kind: 'warmup', rate: 1e-3, warmupEpochs: 4 } as const;
  assert.deepEqual([0, 1, 3, 4, 9].map((e) => learningRate(warm, e, 10)), [2.5e-4, 5e-4, 1e-3, 1e-3, 1e-3]);
  assert.equal(learningRate({ kind: 'constant', rate: 0.1 }, 2, 3), 0.1);
});

test('the named schedules peak at the learning rate', () => {
  assert.deepEqual(namedSchedule('step_decay', 2e-3, 10), { kind: 'staircase', rates: STEP_DECAY.map((f) => f * 2e-3) });
  assert.deepEqual(Array.from({ length: 4 }, (_, e) => learningRate(namedSchedule('step_decay', 1e-3, 4), e, 4)), [1e-3, 1e-3, 3e-4, 3e-4]);
  const thesis = namedSchedule('staircase', 2e-3, 7);
  assert.equal(Math.max(...Array.from({ length: 7 }, (_, e) => learningRate(thesis, e, 7))), 2e-3);
  assert.deepEqual(namedSchedule('warmup', 1e-3, 40), { kind: 'warmup', rate: 1e-3, warmupEpochs: 4 });
  assert.deepEqual(namedSchedule('constant', 5e-4, 40), { kind: 'constant', rate: 5e-4 });
});

test('early stopping stops after `patience` epochs without improvement and keeps the best weights', async () => {
  const { model, training } = await fitModel(inputs, withTraining(tiny, { patience: 2, minDelta: 1e6, schedule: { kind: 'constant', rate: 1e-3 }, epochs: 20 }));
  assert.equal(training.stoppedEarly, true);
  assert.equal(training.history.length, 3);
  assert.equal(training.bestEpoch, 0);
  model.dispose();
});

test('the per-epoch callback sees every loss term and the learning rate of the schedule', async () => {
  const seen: { lr: number; terms: string[] }[] = [];
  const { model } = await fitModel(inputs, withTraining(tiny, { schedule: { kind: 'staircase', rates: [1e-4, 1e-3] }, epochs: 2 }), { onEpoch: (r) => void seen.push({ lr: r.learningRate, terms: Object.keys(r.train) }) });
  assert.deepEqual(seen.map((s) => s.lr), [1e-4, 1e-3]);
  for (const s of seen) for (const t of ['reconstruction', 'z', 'w', 'y', 'd', 'total']) assert.ok(s.terms.includes(t));
  model.dispose();
});

test('splitting a component copies the donor and shares its probability', () => {
  const module = new CgmvaeModule({ ...moduleConfig, nClusters: 3 }, 1);
  const ctx = { training: false, seed: 0, bnUpdates: [] };
  const z = tf.tensor2d([[0.3, -0.2], [1, 2]]);
  const before = tf.tidy(() => tf.softmax(module.clusterLogits(z, null, ctx)).arraySync() as number[][]);
  module.splitComponent(0, 2, new Rng(1));
  const after = tf.tidy(() => tf.softmax(module.clusterLogits(z, null, ctx)).arraySync() as number[][]);
  for (let i = 0; i < 2; i++) {
    assert.ok(Math.abs(after[i][0] - after[i][2]) < 1e-6, 'the copy and the donor get equal probability');
    // Together they weigh against component 1 what the donor weighed before.
    const ratio = (after[i][0] + after[i][2]) / after[i][1];
    assert.ok(Math.abs(ratio - before[i][2] / before[i][1]) < 1e-4 * ratio, `ratio ${ratio} vs ${before[i][2] / before[i][1]}`);
  }
  z.dispose();
  module.dispose();
});

test('placing components puts each prior mean and variance where asked, independent of w', () => {
  const module = new CgmvaeModule({ ...moduleConfig, nClusters: 2, wDim: 2 }, 1);
  module.placeComponents([1, -2, 0.5, 3], [0.25, 1, 4, 0.01]);
  const w = tf.tensor2d([[0, 0], [3, -1]]);
  const prior = module.componentPriors(w, null, { training: false, seed: 0, bnUpdates: [] });
  const [mu, logvar] = [prior.mu.arraySync(), prior.logvar.arraySync()];
  for (const row of [0, 1]) {
    mu[row].flat().forEach((v, i) => assert.ok(Math.abs(v - [1, -2, 0.5, 3][i]!) < 1e-5, `mean ${v}`));
    // log 4 lies beyond the clip at 1: it lands just inside.
    logvar[row].flat().forEach((v, i) => assert.ok(Math.abs(v - Math.min(1 - 1e-3, Math.log([0.25, 1, 4, 0.01][i]!))) < 1e-5, `logvar ${v}`));
  }
  tf.dispose([w, prior.mu, prior.logvar]);
  module.dispose();
});

for (const placement of ['kmeans', 'louvain'] as const) {
  test(`a ${placement} placement is logged, trains on its labels, and keeps the loss finite`, async () => {
    const logs: string[] = [];
    const config = withTraining(tiny, { componentInitEpochs: 2, componentPlacement: placement, schedule: { kind: 'constant', rate: 1e-3 }, epochs: 4 });
    const { model, training } = await fitModel(inputs, config, { log: (m) => void logs.push(m) });
    assert.ok(logs.some((m) => new RegExp(`epoch 1: 2 components placed on a ${placement} partition of the latent means \\(sizes \\d+, \\d+\\)`).test(m)), logs.join('\n'));
    assert.equal(training.history.length, 4);
    for (const h of training.history) assert.ok(Number.isFinite(h.train.total));
    model.dispose();
  });
}

test('the anchor lasts its share of the epochs after the placement, at least one', async () => {
  for (const [anchorShare, anchorEpochs] of [[0, 1], [0.5, 4]] as const) {
    const logs: string[] = [];
    const config = withTraining(tiny, { componentInitEpochs: 2, anchorShare, schedule: { kind: 'constant', rate: 1e-3 }, epochs: 10 });
    const { model } = await fitModel(inputs, config, { log: (m) => void logs.push(m) });
    assert.ok(logs.some((m) => m.endsWith(`training on it for ${anchorEpochs} epochs`)), logs.join('\n'));
    model.dispose();
  }
});

test('an unknown placement or an anchor share outside [0, 1] is rejected before training', async () => {
  await assert.rejects(fitModel(inputs, withTraining(tiny, { componentPlacement: 'spectral' as never })), /unknown componentPlacement 'spectral' \(one of kmeans, louvain\)/);
  await assert.rejects(fitModel(inputs, withTraining(tiny, { anchorShare: 1.5 })), /anchorShare must be in \[0, 1\], got 1.5/);
  await assert.rejects(fitModel(inputs, withTraining(tiny, { epochs: 0 })), /epochs must be a positive integer, got 0/);
});
