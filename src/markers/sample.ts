/**
 * The cells the marker test reads on a large dataset: a seeded random sample, so that the rest of every group
 * keeps the dataset's composition, topped up so that each group keeps enough cells to rank its genes. What the
 * sample changes against the test on every cell is measured in bench/markers.ts (docs/decisions.md).
 */
import { Rng } from '../random.js';

/** Above this many cells the marker test reads a sample of this size. */
export const MARKER_CELLS = 50_000;

/** Every group keeps at least this many of its cells in the sample (all of them when it has fewer). */
export const MIN_GROUP_CELLS = 200;

/** Rows of a sample of about `maxCells` of the cells labelled `labels` (-1: no group), in ascending order; null when every cell fits. */
export function markerSample(labels: Int32Array, seed: number, maxCells = MARKER_CELLS, minGroupCells = MIN_GROUP_CELLS): Int32Array | null {
  const n = labels.length;
  if (n <= maxCells) return null;
  const order = new Rng(seed).shuffle(Int32Array.from({ length: n }, (_, i) => i));
  const picked = new Uint8Array(n);
  const inGroup = new Map<number, number>();
  for (const row of order.subarray(0, maxCells)) {
    picked[row] = 1;
    inGroup.set(labels[row]!, (inGroup.get(labels[row]!) ?? 0) + 1);
  }
  // A small group tops up from its cells in the same shuffled order.
  for (const row of order.subarray(maxCells)) {
    const label = labels[row]!;
    if (label < 0 || (inGroup.get(label) ?? 0) >= minGroupCells) continue;
    picked[row] = 1;
    inGroup.set(label, (inGroup.get(label) ?? 0) + 1);
  }
  const rows: number[] = [];
  picked.forEach((flag, row) => flag && rows.push(row));
  return Int32Array.from(rows);
}
