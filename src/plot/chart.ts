/** Drawing pieces shared by the figures: canvas, fonts, ticks, legend. */
import { createCanvas, type Canvas, type SKRSContext2D } from '@napi-rs/canvas';

/** Font stack: @napi-rs/canvas renders text with the system fonts (DejaVu or Liberation on Debian images). */
export const FONT_FAMILY = '"DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif';
export const TEXT_COLOR = '#222222';
export const AXIS_COLOR = '#444444';

export function font(sizePx: number, weight: 'normal' | 'bold' = 'normal'): string {
  return `${weight} ${sizePx}px ${FONT_FAMILY}`;
}

/** A white canvas of the given size with its 2-d context. */
export function whiteCanvas(width: number, height: number): { canvas: Canvas; ctx: SKRSContext2D } {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  return { canvas, ctx };
}

/** Rectangle of the plotting area in canvas pixels. */
export interface Frame {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

export function drawTitle(ctx: SKRSContext2D, title: string, centreX: number, y: number): void {
  ctx.fillStyle = TEXT_COLOR;
  ctx.font = font(20, 'bold');
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(title, centreX, y);
}

export function drawFrame(ctx: SKRSContext2D, frame: Frame): void {
  ctx.strokeStyle = AXIS_COLOR;
  ctx.lineWidth = 1;
  ctx.strokeRect(frame.left + 0.5, frame.top + 0.5, frame.width, frame.height);
}

/** At most about `maxTicks` round values (1, 2, 5 x 10^k steps) covering [lo, hi]. */
export function linearTicks(lo: number, hi: number, maxTicks = 6): number[] {
  if (!(hi > lo)) return [lo];
  const rawStep = (hi - lo) / maxTicks;
  const magnitude = 10 ** Math.floor(Math.log10(rawStep));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rawStep)!;
  const ticks: number[] = [];
  // Integer multiples of the step, rounded to 12 digits so 3 x 0.1 prints as 0.3.
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) ticks.push(Number((i * step).toPrecision(12)) + 0);
  return ticks;
}

/** Powers of ten within [lo, hi] (with 2 and 5 multiples when the range spans under two decades). */
export function logTicks(lo: number, hi: number): number[] {
  const first = Math.floor(Math.log10(lo));
  const last = Math.ceil(Math.log10(hi));
  const multiples = last - first <= 2 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let e = first; e <= last; e++) {
    for (const m of multiples) {
      const t = m * 10 ** e;
      if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) ticks.push(t);
    }
  }
  return ticks;
}

/** Short tick label: plain for moderate magnitudes, exponent form otherwise. */
export function formatTick(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) return value.toExponential(0).replace('e+', 'e');
  return String(Number(value.toPrecision(6)));
}

export interface LegendItem {
  readonly label: string;
  readonly color: string;
}

let measuring: SKRSContext2D | undefined;

/** A context for measuring text before the figure's size is settled. */
function measuringContext(): SKRSContext2D {
  measuring ??= createCanvas(1, 1).getContext('2d');
  return measuring;
}

/** Legend placed in columns of at most `maxHeight`; offsets are relative to the legend's top-left corner. */
export interface LegendLayout {
  readonly fontPx: number;
  readonly lineHeight: number;
  readonly swatch: 'dot' | 'line';
  readonly columns: ReadonlyArray<{ readonly offset: number; readonly items: readonly LegendItem[] }>;
  readonly width: number;
}

/** Splits `items` into columns that fit `maxHeight`; `swatch` is a dot for scatters, a line for curves. */
export function layoutLegend(items: readonly LegendItem[], maxHeight: number, swatch: 'dot' | 'line'): LegendLayout {
  const fontPx = items.length > 40 ? 11 : 14;
  const lineHeight = Math.round(fontPx * 1.6);
  const perColumn = Math.max(1, Math.floor(maxHeight / lineHeight));
  const swatchWidth = swatch === 'dot' ? fontPx * 1.4 : fontPx * 2.2;
  const ctx = measuringContext();
  ctx.font = font(fontPx);
  const columns: Array<{ offset: number; items: LegendItem[] }> = [];
  let width = 0;
  for (let start = 0; start < items.length; start += perColumn) {
    const columnItems = items.slice(start, start + perColumn);
    const widest = Math.max(...columnItems.map((item) => ctx.measureText(item.label).width));
    columns.push({ offset: width, items: columnItems });
    width += swatchWidth + widest + fontPx * 1.5;
  }
  return { fontPx, lineHeight, swatch, columns, width };
}

export function drawLegend(ctx: SKRSContext2D, layout: LegendLayout, left: number, top: number): void {
  const { fontPx, lineHeight, swatch } = layout;
  ctx.font = font(fontPx);
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  for (const column of layout.columns) {
    const x = left + column.offset;
    column.items.forEach((item, row) => {
      const y = top + row * lineHeight + lineHeight / 2;
      ctx.fillStyle = item.color;
      ctx.strokeStyle = item.color;
      if (swatch === 'dot') {
        ctx.beginPath();
        ctx.arc(x + fontPx / 2, y, fontPx / 2.6, 0, 2 * Math.PI);
        ctx.fill();
      } else {
        ctx.lineWidth = 2.5;
        ctx.beginPath();
        ctx.moveTo(x, y);
        ctx.lineTo(x + fontPx * 1.6, y);
        ctx.stroke();
      }
      ctx.fillStyle = TEXT_COLOR;
      ctx.fillText(item.label, x + (swatch === 'dot' ? fontPx * 1.4 : fontPx * 2.2), y);
    });
  }
}
