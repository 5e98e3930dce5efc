/**
 * The scatter plot's view: which point of the data is at the canvas centre and how many CSS pixels a data unit
 * spans. Data y points up, screen y down. Pure functions, so the tests and the page place points the same way.
 */

export interface Bounds {
  readonly minX: number;
  readonly maxX: number;
  readonly minY: number;
  readonly maxY: number;
}

export interface View {
  readonly centerX: number;
  readonly centerY: number;
  /** CSS pixels per data unit. */
  readonly scale: number;
}

export interface Size {
  readonly width: number;
  readonly height: number;
}

/** Bounds of interleaved x, y coordinates, NaNs skipped; a unit box around the origin when there are none. */
export function boundsOf(coords: Float32Array): Bounds {
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 0; i + 1 < coords.length; i += 2) {
    const x = coords[i]!;
    const y = coords[i + 1]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  return minX <= maxX ? { minX, maxX, minY, maxY } : { minX: -1, maxX: 1, minY: -1, maxY: 1 };
}

/** The view that shows all of `bounds` with a margin of `padding` (a share of the canvas) on every side. */
export function fitView(bounds: Bounds, size: Size, padding = 0.05): View {
  const spanX = Math.max(bounds.maxX - bounds.minX, 1e-9);
  const spanY = Math.max(bounds.maxY - bounds.minY, 1e-9);
  const usable = 1 - 2 * padding;
  return {
    centerX: (bounds.minX + bounds.maxX) / 2,
    centerY: (bounds.minY + bounds.maxY) / 2,
    scale: Math.min((size.width * usable) / spanX, (size.height * usable) / spanY),
  };
}

export function toScreen(view: View, size: Size, x: number, y: number): [number, number] {
  return [size.width / 2 + (x - view.centerX) * view.scale, size.height / 2 - (y - view.centerY) * view.scale];
}

export function toData(view: View, size: Size, sx: number, sy: number): [number, number] {
  return [view.centerX + (sx - size.width / 2) / view.scale, view.centerY - (sy - size.height / 2) / view.scale];
}

/** The view after dragging the content by (dx, dy) CSS pixels. */
export function panBy(view: View, dx: number, dy: number): View {
  return { centerX: view.centerX - dx / view.scale, centerY: view.centerY + dy / view.scale, scale: view.scale };
}

/** The view after zooming by `factor` around the screen point (sx, sy), which keeps showing the same data point. */
export function zoomAt(view: View, size: Size, sx: number, sy: number, factor: number): View {
  const [x, y] = toData(view, size, sx, sy);
  const scale = view.scale * factor;
  return { centerX: x - (sx - size.width / 2) / scale, centerY: y + (sy - size.height / 2) / scale, scale };
}
