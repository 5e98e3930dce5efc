/** Centring the encoder's input by condition: the offsets, their use in every batch, and their effect on the latent space. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { CsrMatrix, DenseMatrix } from '../../src/io/types.js';
import { conditionMeans, makeBatch, disposeBatch, type PreparedData } from '../../src/model/data.js';
import { CgmvaeModel, fitModel, pickBackend, type ModelInputs } from '../../src/model/index.js';
import { conditionMixing } from '../../src/metrics/integration.js';
import { thesisBlobs } from '../fixtures/model/blobs.js';
import { testFitConfig } from '../fixtures/model/config.js';

await pickBackend({ force: 'wasm', log: () => {} });

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-5, `${what}: ${a} vs ${b}`);

test('condition means: each category in turn, after the earlier conditions are taken off; CSR and dense agree; nb reads log1p of normalised counts', () => {
  // 4 cells x 2 genes; condition A: [0, 0, 1, 1], condition B: [0, 1, 0, 1].
  const dense: DenseMatrix = { nRows: 4, nCols: 2, data: Float32Array.from([1, 0, 3, 2, 5, 0, 7, 4]) };
  const csr: CsrMatrix = { nRows: 4, nCols: 2, indptr: Int32Array.from([0, 1, 3, 4, 6]), indices: Int32Array.from([0, 0, 1, 0, 0, 1]), data: Float32Array.from([1, 3, 2, 5, 7, 4]) };
  const codes = [Int32Array.from([0, 0, 1, 1]), Int32Array.from([0, 1, 0, 1])];
  const [a, b] = conditionMeans(dense, codes, [2, 2], null);
  assert.deepEqual(Array.from(a!), [2, 1, 6, 2]);
  // After A's means: cells become [-1,-1], [1,1], [-1,-2], [1,2]; B's means are [-1,-1.5] and [1,1.5].
  assert.deepEqual(Array.from(b!), [-1, -1.5, 1, 1.5]);
  assert.deepEqual(conditionMeans(csr, codes, [2, 2], null).map((o) => Array.from(o)), [Array.from(a!), Array.from(b!)]);
  const [nb] = conditionMeans(dense, [codes[0]!], [2], Float32Array.from([1, 5, 5, 11]));
  close(nb![0]!, (Math.log1p(1e4) + Math.log1p(3 / 5 * 1e4)) / 2, 'nb mean of gene 0, category 0');
  const missing = conditionMeans(dense, [Int32Array.from([0, -1, 0, 0])], [2], null)[0]!;
  [13 / 3, 4 / 3, 0, 0].forEach((v, i) => close(missing[i]!, v, 'a cell without a category and an empty category add nothing'));
});

test('a batch carries the sum of its cells’ offsets, and the encoder reads the input minus it', () => {
  const x: DenseMatrix = { nRows: 2, nCols: 2, data: Float32Array.from([1, 2, 3, 4]) };
  const data: PreparedData = { x, nCells: 2, conditionCodes: [Int32Array.from([1, 0]), Int32Array.from([0, -1])], conditionSizes: [2, 1], labelCodes: null, nClusters: 2, libSize: null, conditionOffsets: [Float32Array.from([10, 20, 30, 40]), Float32Array.from([1, 2])] };
  const batch = makeBatch(data, [0, 1], false);
  assert.deepEqual(Array.from(batch.encoderShift!.dataSync()), [31, 42, 10, 20]);
  disposeBatch(batch);
  assert.equal(makeBatch({ ...data, conditionOffsets: null }, [0], false).encoderShift, null);
});

test('centring by condition mixes the conditions in the latent space and is kept by save and load', async () => {
  const blobs = thesisBlobs(7, 8, 3, 2, 80);
  const inputs: ModelInputs = { x: blobs.x, geneNames: Array.from({ length: 8 }, (_, i) => `g${i}`), conditions: [{ name: 'batch', categories: ['b0', 'b1'], codes: blobs.conditions }] };
  const mixing = async (centerByCondition: boolean) => {
    const config = testFitConfig({ nClusters: 3, latentDim: 2, wDim: 2, hidden: [32], latentHidden: [16], dropout: 0, centerByCondition }, { schedule: { kind: 'constant', rate: 1e-2 }, epochs: 30, batchSize: 60, validationFraction: 0, seed: 2 });
    const { model } = await fitModel(inputs, config);
    const prediction = model.predict(inputs);
    return { model, ilisi: conditionMixing({ nRows: prediction.nCells, nCols: 2, data: prediction.muZ }, blobs.conditions).ilisi_scaled, prediction };
  };
  const plain = await mixing(false);
  const centred = await mixing(true);
  assert.equal(plain.model.meta.conditionOffsets, null);
  assert.equal(centred.model.meta.conditionOffsets!.length, 1);
  assert.ok(centred.ilisi > plain.ilisi + 0.2, `iLISI ${centred.ilisi} centred vs ${plain.ilisi}`);
  const dir = await mkdtemp(join(tmpdir(), 'cgmvae-centred-'));
  try {
    await centred.model.save(dir);
    const loaded = await CgmvaeModel.load(dir);
    assert.deepEqual(loaded.predict(inputs).muZ, centred.prediction.muZ);
    loaded.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  plain.model.dispose();
  centred.model.dispose();
  assert.ok(tf.memory().numTensors < 1000);
});
