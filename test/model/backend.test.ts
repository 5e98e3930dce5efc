import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { isUsableAdapter, parseBackendName, pickBackend } from '../../src/model/backend.js';

test('backend names parse, unknown names are rejected', () => {
  assert.equal(parseBackendName('wasm'), 'wasm');
  assert.equal(parseBackendName(''), undefined);
  assert.equal(parseBackendName(undefined), undefined);
  assert.throws(() => parseBackendName('cuda'), /unknown backend 'cuda'/);
});

test('a fallback (software) WebGPU adapter is not used', () => {
  assert.equal(isUsableAdapter(null), false);
  assert.equal(isUsableAdapter({ isFallbackAdapter: true }), false);
  assert.equal(isUsableAdapter({ info: { isFallbackAdapter: true } }), false);
  assert.equal(isUsableAdapter({ isFallbackAdapter: false }), true);
  assert.equal(isUsableAdapter({ info: { vendor: 'nvidia' } }), true);
});

test('automatic choice skips tensorflow when tfjs-node is absent, and is made once', async () => {
  const messages: string[] = [];
  const previous = process.env.SCGMDVAE_BACKEND;
  delete process.env.SCGMDVAE_BACKEND;
  const choice = await pickBackend({ log: (m) => void messages.push(m) });
  if (previous !== undefined) process.env.SCGMDVAE_BACKEND = previous;
  assert.equal(tf.getBackend(), choice.name);
  assert.match(messages[0], new RegExp(`backend '${choice.name}'`));
  if (choice.name !== 'tensorflow') assert.equal(choice.skipped[0].name, 'tensorflow');
  assert.equal(await pickBackend({ force: 'cpu' }), choice, 'the first choice stands for the process');
});

test('webgpu backend runs a product when a hardware adapter exists', async (t) => {
  let adapter: unknown = null;
  try {
    const { create } = (await import('webgpu')) as unknown as { create: (f: string[]) => { requestAdapter: () => Promise<unknown> } };
    adapter = await create([]).requestAdapter();
  } catch {
    // package or Vulkan loader missing
  }
  if (!isUsableAdapter(adapter as never)) return t.skip('no hardware WebGPU adapter');
  assert.equal(tf.getBackend(), 'webgpu', 'the picker chose webgpu when an adapter exists');
  const y = tf.matMul(tf.ones([2, 3]), tf.ones([3, 2]));
  assert.deepEqual(Array.from(await y.data()), [3, 3, 3, 3]);
});
