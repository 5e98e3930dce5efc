/** Median as numpy computes it (mean of the two middle values for an even count); NaN when empty. */
export function median(values: ArrayLike<number>): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** First index of a sorted array whose value is >= q (binary search). */
export function lowerBound(sorted: Float64Array, q: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < q) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Stable ascending argsort: positions of `keys` from smallest to largest, equal keys in index order
 * (as R's order()), NaN last. Uses the native numeric sort and no comparator calls.
 */
export function argsort(keys: Float64Array): Int32Array {
  const n = keys.length;
  const sorted = Float64Array.from(keys).sort();
  let numbers = n;
  while (numbers > 0 && Number.isNaN(sorted[numbers - 1]!)) numbers--;
  const numeric = sorted.subarray(0, numbers);
  const taken = new Int32Array(n + 1);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    const start = Number.isNaN(key) ? numbers : lowerBound(numeric, key);
    order[start + taken[start]!++] = i;
  }
  return order;
}
