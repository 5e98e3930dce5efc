/** A layout thread: runs the epochs of its blocks (./layout.ts) as the main thread signals them through `control` (protocol: ./umap.ts). */
import { workerData } from 'node:worker_threads';
import { mulberry32 } from '../random.js';
import { blockSeed, CONTROL, layoutEpoch, type LayoutWorkerData } from './layout.js';

const { state, blocks, seed, control } = workerData as LayoutWorkerData;
const randoms = blocks.map((block) => mulberry32(blockSeed(seed, block)));
let seen = 0;
try {
  for (;;) {
    Atomics.wait(control, CONTROL.epoch, seen);
    const signalled = Atomics.load(control, CONTROL.epoch);
    if (signalled < 0) break;
    seen = signalled;
    blocks.forEach((block, i) => layoutEpoch(state, block, signalled - 1, randoms[i]));
    Atomics.add(control, CONTROL.done, 1);
    Atomics.notify(control, CONTROL.done);
  }
} catch (error) {
  Atomics.store(control, CONTROL.failed, 1);
  Atomics.notify(control, CONTROL.done);
  throw error;
}
