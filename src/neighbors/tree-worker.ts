/** A tree thread of nnDescentOnThreads (./nndescent.ts): builds its trees' heaps and sends them back. */
import { parentPort, workerData } from 'node:worker_threads';
import { treeHeaps, type TreeWorkerData } from './nndescent.js';

const { points, k, seeds } = workerData as TreeWorkerData;
const heaps = treeHeaps(points, k, seeds);
parentPort!.postMessage(heaps, [heaps.index.buffer as ArrayBuffer, heaps.dist2.buffer as ArrayBuffer]);
