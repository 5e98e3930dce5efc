import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CgmvaeModel, fitModel, pickBackend, TrainingDivergedError, type FitConfig, type ModelInputs } from '../../src/model/index.js';
import { thesisBlobs } from '../fixtures/model/blobs.js';
import { testFitConfig, withTraining } from '../fixtures/model/config.js';
import { hungarianAccuracy } from '../../src/metrics/index.js';

await pickBackend({ force: 'wasm', log: () => {} });

const blobs = thesisBlobs(3, 8, 3, 2, 60);
const inputs: ModelInputs = {
  x: blobs.x,
  geneNames: Array.from({ length: 8 }, (_, i) => `g${i}`),
  conditions: [{ name: 'batch', categories: ['b0', 'b1'], codes: blobs.conditions }],
};
const small: FitConfig = testFitConfig(
  { nClusters: 3, latentDim: 2, wDim: 2, hidden: [32], latentHidden: [16], dropout: 0 },
  { schedule: { kind: 'constant', rate: 1e-2 }, epochs: 3, batchSize: 60, validationFraction: 0.2, seed: 1 },
);

test('predict, reconstruct, flip and sample have the right shapes; tensors do not leak across epochs', async () => {
  const counts: number[] = [];
  const { model, training } = await fitModel(inputs, small, { onEpoch: () => void counts.push(tf.memory().numTensors) });
  assert.equal(training.history.length, 3);
  assert.deepEqual(Object.keys(training.history[0].train).sort(), ['d', 'reconstruction', 'total', 'w', 'y', 'z']);
  assert.ok(training.history[0].validation);
  assert.equal(new Set(counts).size, 1, `tensor count changed across epochs: ${counts}`);
  const n = blobs.x.nRows;
  const p = model.predict(inputs);
  assert.equal(p.probabilities.length, n * 3);
  assert.equal(p.muZ.length, n * 2);
  assert.equal(p.muW.length, n * 2);
  assert.equal(p.clusters.length, n);
  for (let i = 0; i < n; i++) close(p.probabilities.subarray(i * 3, i * 3 + 3).reduce((a, b) => a + b, 0), 1, 1e-5);
  assert.equal(model.reconstruct(inputs).length, n * 8);
  assert.equal(model.flip(inputs, 'batch', 'b1').length, n * 8);
  assert.throws(() => model.flip(inputs, 'batch', 'nope'), /unknown category/);
  const s = model.sample(4, { conditions: { batch: 'b0' }, seed: 2 });
  assert.equal(s.x.length, 12 * 8);
  assert.deepEqual(Array.from(s.components), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
  const before = tf.memory().numTensors;
  model.predict(inputs);
  model.sample(2);
  assert.equal(tf.memory().numTensors, before, 'predict/sample leak tensors');
  model.dispose();
});

function close(a: number, b: number, tol: number) {
  assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
}

test('the same seed gives the same result; another seed differs', async () => {
  const a = await fitModel(inputs, withTraining(small, { schedule: { kind: 'constant', rate: 1e-2 }, epochs: 2 }));
  const b = await fitModel(inputs, withTraining(small, { schedule: { kind: 'constant', rate: 1e-2 }, epochs: 2 }));
  const c = await fitModel(inputs, withTraining(small, { seed: 2, schedule: { kind: 'constant', rate: 1e-2 }, epochs: 2 }));
  assert.deepEqual(a.training.history.map((h) => h.train.total), b.training.history.map((h) => h.train.total));
  assert.deepEqual(a.model.predict(inputs).muZ, b.model.predict(inputs).muZ);
  assert.notDeepEqual(a.model.predict(inputs).muZ, c.model.predict(inputs).muZ);
  for (const r of [a, b, c]) r.model.dispose();
});

test('save/load round trip; a new dataset is aligned by gene name with missing genes zero-filled', async () => {
  const { model } = await fitModel(inputs, small);
  const dir = await mkdtemp(join(tmpdir(), 'cgmvae-'));
  try {
    await model.save(dir);
    const loaded = await CgmvaeModel.load(dir);
    const p1 = model.predict(inputs);
    const p2 = loaded.predict(inputs);
    assert.deepEqual(p2.probabilities, p1.probabilities);
    assert.deepEqual(loaded.meta.conditions, model.meta.conditions);
    // New data: genes shuffled, g7 missing, one extra gene; stored as CSR.
    const order = [3, 0, 6, 1, 5, 2, 4];
    const names = [...order.map((j) => `g${j}`), 'extra'];
    const n = blobs.x.nRows;
    const indptr = new Int32Array(n + 1);
    const indices: number[] = [];
    const data: number[] = [];
    for (let r = 0; r < n; r++) {
      order.forEach((j, col) => {
        indices.push(col);
        data.push(blobs.x.data[r * 8 + j]);
      });
      indices.push(7);
      data.push(99);
      indptr[r + 1] = indices.length;
    }
    const csr = { nRows: n, nCols: 8, indptr, indices: Int32Array.from(indices), data: Float32Array.from(data) };
    const p3 = loaded.predict({ ...inputs, x: csr, geneNames: names });
    assert.deepEqual(p3.alignment?.missing, ['g7']);
    const p4 = loaded.predict({ ...inputs, conditions: [{ name: 'batch', categories: ['b1', 'new'], codes: blobs.conditions }] });
    assert.deepEqual(p4.unknownCategories, { batch: ['new'] });
    assert.equal(p3.alignment?.unused, 1);
    const zeroed = Float32Array.from(blobs.x.data, (v, i) => (i % 8 === 7 ? 0 : v));
    assert.deepEqual(p3.probabilities, loaded.predict({ ...inputs, x: { nRows: n, nCols: 8, data: zeroed } }).probabilities);
    loaded.dispose();
  } finally {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});

test('with a resolution, the fit chooses K at the placement; predictions, save and load follow it', async () => {
  const config = withTraining(small, { schedule: { kind: 'constant', rate: 1e-2 }, epochs: 12, componentInitEpochs: 8, componentPlacement: 'louvain', resolution: 0.2, validationFraction: 0 });
  const logs: string[] = [];
  const { model } = await fitModel(inputs, { network: { ...config.network, nClusters: 8 }, training: config.training }, { log: (m) => void logs.push(m) });
  const k = model.config.nClusters;
  assert.ok(logs.some((m) => m.includes(`epoch 7: ${k} components placed on a Louvain partition at resolution 0.2`)), logs.join('\n'));
  assert.ok(k >= 2 && k !== 8, `K ${k}`);
  const p = model.predict(inputs);
  assert.equal(p.nClusters, k);
  assert.equal(p.probabilities.length, blobs.x.nRows * k);
  const dir = await mkdtemp(join(tmpdir(), 'cgmvae-auto-'));
  try {
    await model.save(dir);
    const loaded = await CgmvaeModel.load(dir);
    assert.equal(loaded.config.nClusters, k);
    assert.deepEqual(loaded.predict(inputs).probabilities, p.probabilities);
    loaded.dispose();
  } finally {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a small conditional blobs run clusters perfectly', async () => {
  const { model } = await fitModel(inputs, withTraining(small, { schedule: { kind: 'constant', rate: 1e-2 }, epochs: 40, validationFraction: 0 }));
  const p = model.predict(inputs);
  assert.equal(hungarianAccuracy(blobs.labels, p.clusters), 1);
  model.dispose();
});

test('supervised and semi-supervised modes train and name clusters by label', async () => {
  const codes = Int32Array.from(blobs.labels, (v, i) => (i % 4 === 0 ? v : -1));
  const labels = { categories: ['A', 'B', 'C'], codes };
  const semi = await fitModel({ ...inputs, labels }, withTraining(small, { schedule: { kind: 'constant', rate: 1e-2 }, epochs: 2 }));
  // Labelled and unlabelled batches alternate: an even number of steps, more than the unlabelled batches alone.
  const steps = semi.training.history[0].steps;
  assert.ok(steps % 2 === 0 && steps > Math.ceil((360 * 0.8 * 0.75) / 60), `steps ${steps}`);
  assert.deepEqual(semi.model.predict(inputs).labelNames, ['A', 'B', 'C']);
  semi.model.dispose();
  const full = await fitModel({ ...inputs, labels: { categories: ['A', 'B', 'C'], codes: blobs.labels } }, small);
  assert.ok(Number.isFinite(full.training.history.at(-1)!.train.total));
  full.model.dispose();
});

test('an AbortSignal cancels training', async () => {
  const controller = new AbortController();
  const before = tf.memory().numTensors;
  await assert.rejects(
    fitModel(inputs, withTraining(small, { schedule: { kind: 'constant', rate: 1e-2 }, epochs: 50 }), { signal: controller.signal, onEpoch: (r) => void (r.epoch === 1 && controller.abort()) }),
    (err: unknown) => (err as Error).name === 'AbortError',
  );
  assert.equal(tf.memory().numTensors, before, 'aborted training leaked tensors');
});

test('non-finite losses roll back and then stop with a clear error', async () => {
  const bad = Float32Array.from(blobs.x.data);
  bad[5] = NaN;
  const logs: string[] = [];
  const before = tf.memory().numTensors;
  await assert.rejects(fitModel({ ...inputs, x: { ...blobs.x, data: bad } }, withTraining(small, { maxNanRetries: 2 }), { log: (m) => void logs.push(m) }), TrainingDivergedError);
  assert.equal(logs.length, 2);
  assert.equal(tf.memory().numTensors, before);
});
