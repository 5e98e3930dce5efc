/**
 * Two-core data parallelism for backends without threads (wasm in Node): a worker thread holds a
 * replica of the module and computes the gradient of one half of each mini-batch while the main
 * thread computes the other half; weights and gradients travel through shared memory.
 */
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from './backend.js';
import type { PreparedData } from './data.js';
import type { CgmvaeModule, ModuleConfig } from './module.js';

/** Messages to the worker. */
export type WorkerRequest =
  | { type: 'init'; backend: BackendName; config: ModuleConfig; data: PreparedData; weights: SharedArrayBuffer; grads: SharedArrayBuffer; layout: ParamLayout }
  | { type: 'step'; rows: Int32Array; seed: number };

/** Messages from the worker. */
export type WorkerReply = { type: 'ready' } | { type: 'done'; sums: Float32Array } | { type: 'error'; message: string };

/** Where each parameter lives in the flat shared buffers (trainable first, then state). */
export interface ParamLayout {
  readonly trainable: { key: string; offset: number; size: number; shape: number[] }[];
  readonly state: { key: string; offset: number; size: number; shape: number[] }[];
  readonly trainableSize: number;
  readonly totalSize: number;
}

export function paramLayout(module: CgmvaeModule): ParamLayout {
  let offset = 0;
  const entries = (m: Map<string, tf.Variable>) =>
    [...m].map(([key, v]) => {
      const e = { key, offset, size: v.size, shape: v.shape };
      offset += v.size;
      return e;
    });
  const trainable = entries(module.params.trainable);
  const trainableSize = offset;
  const state = entries(module.params.state);
  return { trainable, state, trainableSize, totalSize: offset };
}

/** Copy every parameter of `module` into `target` (main → worker). */
export function writeParams(module: CgmvaeModule, layout: ParamLayout, target: Float32Array): void {
  const all = module.params.all();
  for (const e of [...layout.trainable, ...layout.state]) target.set(all.get(e.key)!.dataSync() as Float32Array, e.offset);
}

/** Assign `source` into every parameter of `module` (worker side). */
export function readParams(module: CgmvaeModule, layout: ParamLayout, source: Float32Array): void {
  const all = module.params.all();
  tf.tidy(() => {
    for (const e of [...layout.trainable, ...layout.state]) all.get(e.key)!.assign(tf.tensor(source.slice(e.offset, e.offset + e.size), e.shape));
  });
}

/** The helper thread, seen from the training loop. */
export class GradientWorker {
  private pending: { resolve: (sums: Float32Array) => void; reject: (err: Error) => void } | null = null;
  private constructor(
    private readonly worker: Worker,
    private readonly layout: ParamLayout,
    private readonly weights: Float32Array,
    readonly grads: Float32Array,
  ) {
    worker.on('message', (msg: WorkerReply) => {
      const p = this.pending;
      this.pending = null;
      if (msg.type === 'done') p?.resolve(msg.sums);
      else if (msg.type === 'error') p?.reject(new Error(`gradient worker: ${msg.message}`));
    });
    worker.on('error', (err) => {
      this.pending?.reject(err);
      this.pending = null;
    });
  }

  static async start(module: CgmvaeModule, data: PreparedData, backend: BackendName): Promise<GradientWorker> {
    const layout = paramLayout(module);
    const weights = new SharedArrayBuffer(layout.totalSize * 4);
    const grads = new SharedArrayBuffer(layout.trainableSize * 4);
    // Under tsx the worker is TypeScript and must register tsx's loader first; compiled, it is plain JavaScript.
    const ts = import.meta.url.endsWith('.ts');
    const script = new URL(`./parallel-worker.${ts ? 'ts' : 'js'}`, import.meta.url);
    const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(script.href)}); })`;
    const worker = ts ? new Worker(bootstrap, { eval: true }) : new Worker(script);
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('message', (msg: WorkerReply) => (msg.type === 'ready' ? resolve() : reject(new Error(`gradient worker: ${(msg as { message?: string }).message}`))));
      worker.once('error', reject);
    });
    const request: WorkerRequest = { type: 'init', backend, config: module.config, data, weights, grads, layout };
    worker.postMessage(request);
    await ready;
    return new GradientWorker(worker, layout, new Float32Array(weights), new Float32Array(grads));
  }

  /** Publish the current weights, then ask for the gradient of `rows` (mean loss over them). */
  compute(module: CgmvaeModule, rows: Int32Array, seed: number): Promise<Float32Array> {
    writeParams(module, this.layout, this.weights);
    const result = new Promise<Float32Array>((resolve, reject) => (this.pending = { resolve, reject }));
    const request: WorkerRequest = { type: 'step', rows, seed };
    this.worker.postMessage(request);
    return result;
  }

  /** The worker's gradient of parameter `key`, as a new tensor. */
  gradient(key: string): tf.Tensor {
    const e = this.layout.trainable.find((t) => t.key === key)!;
    return tf.tensor(this.grads.slice(e.offset, e.offset + e.size), e.shape);
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}
