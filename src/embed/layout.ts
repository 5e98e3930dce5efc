/**
 * One epoch of umap-learn's optimize_layout_euclidean over one block of cells: the kernel the main
 * thread and the layout workers (./layout-worker.ts) share.
 *
 * Blocks make the layout parallel and still a function of the seed alone: each block owns a set of
 * cells and is the only writer of their coordinates; it reads other blocks' cells from the snapshot
 * taken at the start of the epoch. An edge whose tail lies in another block moves only its head, by
 * twice the step, since the reverse edge (the graph holds both) moves the tail from the tail's block.
 * Each block draws its negative samples from its own generator, so no outcome depends on how blocks
 * are spread over threads. With one block this is exactly umap-learn's sequential loop.
 */

const LEARNING_RATE = 1;
/** umap-learn's negative_sample_rate. */
export const NEGATIVE_SAMPLE_RATE = 5;
const REPULSION_STRENGTH = 1;
const GRADIENT_CLIP = 4;

/** The layout's arrays, shared between threads when there are workers. Edges are grouped by block of their head. */
export interface LayoutState {
  readonly n: number;
  readonly nEpochs: number;
  readonly a: number;
  readonly b: number;
  /** n x 2 coordinates, written only by each cell's block. */
  readonly y: Float64Array;
  /** The coordinates at the start of the epoch: what a block reads of other blocks' cells. */
  readonly snapshot: Float64Array;
  readonly blockOf: Int32Array;
  /** Edges of block c are blockStart[c] .. blockStart[c + 1]. */
  readonly blockStart: Int32Array;
  readonly head: Int32Array;
  readonly tail: Int32Array;
  readonly epochsPerSample: Float64Array;
  readonly epochOfNextSample: Float64Array;
  readonly epochOfNextNegativeSample: Float64Array;
}

/** Slots of the control array: the epoch signalled to workers (epoch + 1; -1 stops them), epochs finished summed over workers, a failure flag. */
export const CONTROL = { epoch: 0, done: 1, failed: 2, length: 3 } as const;

/** What a layout worker is started with: the shared state, the blocks it runs, the run's seed, the control array. */
export interface LayoutWorkerData {
  readonly state: LayoutState;
  readonly blocks: number[];
  readonly seed: number;
  readonly control: Int32Array;
}

/** x^e for x > 0: about twice as fast as Math.pow in V8, and the layout spends its time here. */
function powPositive(x: number, e: number): number {
  return Math.exp(e * Math.log(x));
}

function clip(value: number): number {
  return value > GRADIENT_CLIP ? GRADIENT_CLIP : value < -GRADIENT_CLIP ? -GRADIENT_CLIP : value;
}

/** The generator seed of block `block` when there are several (one block uses the caller's stream). */
export function blockSeed(seed: number, block: number): number {
  return (seed + Math.imul(block + 1, 0x9e3779b9)) >>> 0;
}

/** Runs epoch `epoch` (0-based) for the edges of `block`; the learning rate decays linearly, epoch 1 still at full rate as in umap-learn. */
export function layoutEpoch(state: LayoutState, block: number, epoch: number, random: () => number): void {
  const { n, nEpochs, a, b, y, snapshot, blockOf, head, tail, epochsPerSample, epochOfNextSample, epochOfNextNegativeSample } = state;
  const alpha = epoch === 0 ? LEARNING_RATE : LEARNING_RATE * (1 - (epoch - 1) / nEpochs);
  for (let e = state.blockStart[block]; e < state.blockStart[block + 1]; e++) {
    if (epochOfNextSample[e] > epoch) continue;
    const j = head[e] * 2;
    const ownTail = blockOf[tail[e]] === block;
    const at = ownTail ? y : snapshot;
    const k = tail[e] * 2;
    let dx = y[j] - at[k];
    let dy = y[j + 1] - at[k + 1];
    let dist2 = dx * dx + dy * dy;
    if (dist2 > 0) {
      const powB = powPositive(dist2, b);
      const coeff = (-2 * a * b * (powB / dist2)) / (a * powB + 1);
      const gx = clip(coeff * dx) * alpha;
      const gy = clip(coeff * dy) * alpha;
      if (ownTail) {
        y[j] += gx; y[j + 1] += gy;
        y[k] -= gx; y[k + 1] -= gy;
      } else {
        y[j] += 2 * gx; y[j + 1] += 2 * gy;
      }
    }
    epochOfNextSample[e] += epochsPerSample[e];

    const epochsPerNegativeSample = epochsPerSample[e] / NEGATIVE_SAMPLE_RATE;
    const nNegative = Math.floor((epoch - epochOfNextNegativeSample[e]) / epochsPerNegativeSample);
    for (let p = 0; p < nNegative; p++) {
      const other = Math.floor(random() * n);
      const o = other * 2;
      const from = blockOf[other] === block ? y : snapshot;
      dx = y[j] - from[o];
      dy = y[j + 1] - from[o + 1];
      dist2 = dx * dx + dy * dy;
      if (dist2 > 0) {
        const coeff = (2 * REPULSION_STRENGTH * b) / ((0.001 + dist2) * (a * powPositive(dist2, b) + 1));
        y[j] += clip(coeff * dx) * alpha;
        y[j + 1] += clip(coeff * dy) * alpha;
      } else if (o !== j) {
        // Coincident distinct cells: push apart by the clip value, as umap-learn does.
        y[j] += GRADIENT_CLIP * alpha;
        y[j + 1] += GRADIENT_CLIP * alpha;
      }
    }
    epochOfNextNegativeSample[e] += nNegative * epochsPerNegativeSample;
  }
}
