/**
 * Finding cells under the pointer and inside a lasso without touching every cell: the points sorted into a
 * uniform grid (a counting sort), about four to a grid cell.
 */
import type { Bounds } from './camera.js';

const POINTS_PER_CELL = 4;
const MAX_SIDE = 2048;

export class PointGrid {
  private readonly side: number;
  private readonly start: Int32Array;
  private readonly order: Int32Array;
  private readonly cellWidth: number;
  private readonly cellHeight: number;

  constructor(
    private readonly coords: Float32Array,
    private readonly bounds: Bounds,
  ) {
    const n = coords.length / 2;
    this.side = Math.max(1, Math.min(MAX_SIDE, Math.ceil(Math.sqrt(n / POINTS_PER_CELL))));
    this.cellWidth = Math.max(bounds.maxX - bounds.minX, 1e-9) / this.side;
    this.cellHeight = Math.max(bounds.maxY - bounds.minY, 1e-9) / this.side;
    const cellOf = new Int32Array(n);
    this.start = new Int32Array(this.side * this.side + 1);
    for (let i = 0; i < n; i++) {
      const cell = this.cellAt(coords[2 * i]!, coords[2 * i + 1]!);
      cellOf[i] = cell;
      if (cell >= 0) this.start[cell + 1]!++;
    }
    for (let c = 0; c < this.side * this.side; c++) this.start[c + 1]! += this.start[c]!;
    const next = this.start.slice(0, this.side * this.side);
    this.order = new Int32Array(this.start[this.side * this.side]!);
    for (let i = 0; i < n; i++) if (cellOf[i]! >= 0) this.order[next[cellOf[i]!]!++] = i;
  }

  private column(x: number): number {
    return Math.min(this.side - 1, Math.max(0, Math.floor((x - this.bounds.minX) / this.cellWidth)));
  }

  private row(y: number): number {
    return Math.min(this.side - 1, Math.max(0, Math.floor((y - this.bounds.minY) / this.cellHeight)));
  }

  /** The grid cell of a point, or -1 for a point without finite coordinates. */
  private cellAt(x: number, y: number): number {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return -1;
    return this.row(y) * this.side + this.column(x);
  }

  /** Calls `visit` for every point in the grid cells that overlap the box. */
  private forEachInBox(minX: number, maxX: number, minY: number, maxY: number, visit: (point: number) => void): void {
    const [c0, c1, r0, r1] = [this.column(minX), this.column(maxX), this.row(minY), this.row(maxY)];
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = r * this.side + c;
        for (let k = this.start[cell]!; k < this.start[cell + 1]!; k++) visit(this.order[k]!);
      }
    }
  }

  /** The accepted point nearest to (x, y) within `radius` (data units), or -1. */
  nearest(x: number, y: number, radius: number, accept: (point: number) => boolean = () => true): number {
    let best = -1;
    let bestDistance = radius * radius;
    this.forEachInBox(x - radius, x + radius, y - radius, y + radius, (i) => {
      const dx = this.coords[2 * i]! - x;
      const dy = this.coords[2 * i + 1]! - y;
      const distance = dx * dx + dy * dy;
      if (distance <= bestDistance && accept(i)) {
        best = i;
        bestDistance = distance;
      }
    });
    return best;
  }

  /** 1 for each accepted point inside the polygon (x0, y0, x1, y1, ... in data units), else 0; and their count. */
  insidePolygon(polygon: ArrayLike<number>, accept: (point: number) => boolean = () => true): { mask: Uint8Array; count: number } {
    const mask = new Uint8Array(this.coords.length / 2);
    let count = 0;
    if (polygon.length < 6) return { mask, count };
    let [minX, maxX, minY, maxY] = [Infinity, -Infinity, Infinity, -Infinity];
    for (let k = 0; k < polygon.length; k += 2) {
      minX = Math.min(minX, polygon[k]!);
      maxX = Math.max(maxX, polygon[k]!);
      minY = Math.min(minY, polygon[k + 1]!);
      maxY = Math.max(maxY, polygon[k + 1]!);
    }
    this.forEachInBox(minX, maxX, minY, maxY, (i) => {
      if (pointInPolygon(this.coords[2 * i]!, this.coords[2 * i + 1]!, polygon) && accept(i)) {
        mask[i] = 1;
        count++;
      }
    });
    return { mask, count };
  }
}

/** Even-odd rule: is (x, y) inside the closed polygon (x0, y0, x1, y1, ...)? */
export function pointInPolygon(x: number, y: number, polygon: ArrayLike<number>): boolean {
  let inside = false;
  const n = polygon.length / 2;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = polygon[2 * i]!;
    const yi = polygon[2 * i + 1]!;
    const xj = polygon[2 * j]!;
    const yj = polygon[2 * j + 1]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
