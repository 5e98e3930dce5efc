/** Worker side of the two-core scheme (see parallel.ts): gradients of half-batches on a module replica. */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { pickBackend } from './backend.js';
import { disposeBatch, makeBatch, type PreparedData } from './data.js';
import { CgmvaeModule } from './module.js';
import { readParams, type ParamLayout, type WorkerReply, type WorkerRequest } from './parallel.js';
import { lossWithSums } from './training.js';

let state: { module: CgmvaeModule; data: PreparedData; layout: ParamLayout; weights: Float32Array; grads: Float32Array } | null = null;

function reply(msg: WorkerReply): void {
  parentPort!.postMessage(msg);
}

parentPort!.on('message', async (msg: WorkerRequest) => {
  try {
    if (msg.type === 'init') {
      await pickBackend({ force: msg.backend, log: () => {} });
      state = { module: new CgmvaeModule(msg.config, 0), data: msg.data, layout: msg.layout, weights: new Float32Array(msg.weights), grads: new Float32Array(msg.grads) };
      reply({ type: 'ready' });
      return;
    }
    const s = state!;
    readParams(s.module, s.layout, s.weights);
    const batch = makeBatch(s.data, msg.rows, true);
    const ctx = { training: true, seed: msg.seed, bnUpdates: [] as { variable: tf.Variable; value: tf.Tensor }[] };
    const { grads, sums } = lossWithSums(s.module, batch, ctx);
    for (const e of s.layout.trainable) {
      const g = grads[s.module.params.trainable.get(e.key)!.name];
      if (g) s.grads.set(g.dataSync() as Float32Array, e.offset);
      else s.grads.fill(0, e.offset, e.offset + e.size);
    }
    const values = sums.dataSync() as Float32Array;
    tf.dispose([sums, ...Object.values(grads), ...ctx.bnUpdates.map((u) => u.value)]);
    disposeBatch(batch);
    reply({ type: 'done', sums: values });
  } catch (err) {
    reply({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
});
