/** Fixed-size max-heaps stored side by side in flat typed arrays, one per row: the neighbour searches' working sets. */
import type { KnnResult } from './knn.js';

/**
 * Replaces the root of the max-heap at `base` (size `size`, keyed by `keys`) with (key, value) and
 * sifts it down; `flags`, when given, moves with the entries and the new entry's flag is 1.
 */
export function heapReplaceTop(keys: Float64Array, values: Int32Array, base: number, size: number, key: number, value: number, flags?: Uint8Array): void {
  let pos = 0;
  for (;;) {
    const left = 2 * pos + 1;
    if (left >= size) break;
    const right = left + 1;
    const child = right < size && keys[base + right] > keys[base + left] ? right : left;
    if (keys[base + child] <= key) break;
    keys[base + pos] = keys[base + child];
    values[base + pos] = values[base + child];
    if (flags) flags[base + pos] = flags[base + child];
    pos = child;
  }
  keys[base + pos] = key;
  values[base + pos] = value;
  if (flags) flags[base + pos] = 1;
}

/**
 * The n heaps of size k (squared distances `keys`, rows `values`) as a KnnResult, each row ascending
 * by (distance, row). `order`, when given, maps heap positions and stored values to original rows.
 */
export function heapsToNeighbours(keys: Float64Array, values: Int32Array, n: number, k: number, order?: Int32Array): KnnResult {
  const row = order ? (p: number) => order[p] : (p: number) => p;
  const indices = new Int32Array(n * k);
  const distances = new Float32Array(n * k);
  const slot = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    const base = i * k;
    for (let m = 0; m < k; m++) slot[m] = m;
    slot.sort((a, b) => keys[base + a] - keys[base + b] || row(values[base + a]) - row(values[base + b]));
    const out = row(i) * k;
    for (let m = 0; m < k; m++) {
      indices[out + m] = row(values[base + slot[m]]);
      distances[out + m] = Math.sqrt(keys[base + slot[m]]);
    }
  }
  return { nRows: n, k, indices, distances };
}
