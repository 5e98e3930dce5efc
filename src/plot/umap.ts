/** Scatter of a 2-d embedding coloured by category, with a legend: the report's UMAP figure. */
import type { DenseMatrix } from '../io/types.js';
import { mulberry32 } from '../random.js';
import { drawFrame, drawLegend, drawTitle, font, layoutLegend, TEXT_COLOR, whiteCanvas, type Frame } from './chart.js';
import { categoryColors, MISSING_COLOR, pointRadius } from './palette.js';

export interface UmapPngOptions {
  readonly title: string;
  /** One #rrggbb per category; defaults to categoryColors(categoryNames.length). */
  readonly colors?: readonly string[];
  /** Canvas size; the width grows when the legend needs it. */
  readonly width?: number;
  readonly height?: number;
  /** Axis names, scanpy style. */
  readonly axisLabels?: readonly [string, string];
}

const MIN_PLOT_SIDE = 450;


/** PNG of `coords` (n x 2) coloured by `labels` (codes into categoryNames, -1 = missing, drawn grey underneath). */
export function umapPng(coords: DenseMatrix, labels: Int32Array, categoryNames: readonly string[], options: UmapPngOptions): Buffer {
  const { title, width = 1000, height = 800, axisLabels = ['UMAP1', 'UMAP2'] } = options;
  const n = coords.nRows;
  if (coords.nCols !== 2) throw new RangeError(`umapPng: coords must have 2 columns, got ${coords.nCols}`);
  if (labels.length !== n) throw new RangeError(`umapPng: ${labels.length} labels for ${n} points`);
  const colors = options.colors ?? categoryColors(categoryNames.length);
  if (colors.length < categoryNames.length) throw new RangeError(`umapPng: ${colors.length} colours for ${categoryNames.length} categories`);
  let hasMissing = false;
  for (const code of labels) {
    if (code === -1) hasMissing = true;
    else if (code < 0 || code >= categoryNames.length) throw new RangeError(`umapPng: label ${code} outside [0, ${categoryNames.length})`);
  }

  const legendItems = categoryNames.map((label, c) => ({ label, color: colors[c] }));
  if (hasMissing) legendItems.push({ label: 'NA', color: MISSING_COLOR });
  const top = 60;
  const bottom = 50;
  const legendGap = 25;
  const legend = layoutLegend(legendItems, height - top - bottom, 'dot');
  // A square plotting area of at least MIN_PLOT_SIDE: a wide legend widens the figure instead of squeezing the plot.
  const canvasWidth = Math.max(width, 40 + MIN_PLOT_SIDE + legendGap + legend.width + 20);
  const side = Math.min(height - top - bottom, canvasWidth - 40 - legendGap - legend.width - 20);
  // Centre plot and legend together horizontally.
  const left = Math.max(40, (canvasWidth - side - legendGap - legend.width) / 2);
  const { canvas, ctx } = whiteCanvas(canvasWidth, height);
  const frame: Frame = { left, top, width: side, height: side };

  let xMin = Infinity, xMax = -Infinity, yMin = Infinity, yMax = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = coords.data[2 * i];
    const y = coords.data[2 * i + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    xMin = Math.min(xMin, x); xMax = Math.max(xMax, x); yMin = Math.min(yMin, y); yMax = Math.max(yMax, y);
  }
  // Pad the data range by 3% on each side; a flat range gets a unit window.
  const pad = (lo: number, hi: number): [number, number] => {
    if (!(hi > lo)) return Number.isFinite(lo) ? [lo - 0.5, lo + 0.5] : [0, 1];
    const margin = (hi - lo) * 0.03;
    return [lo - margin, hi + margin];
  };
  [xMin, xMax] = pad(xMin, xMax);
  [yMin, yMax] = pad(yMin, yMax);

  const radius = pointRadius(n);
  // Missing cells first, then the rest in a fixed shuffled order so no category hides the others by drawing last.
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const random = mulberry32(12345);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  ctx.save();
  ctx.beginPath();
  ctx.rect(frame.left, frame.top, frame.width, frame.height);
  ctx.clip();
  for (const pass of [true, false]) {
    for (const i of order) {
      if ((labels[i] === -1) !== pass) continue;
      const x = coords.data[2 * i];
      const y = coords.data[2 * i + 1];
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      ctx.fillStyle = pass ? MISSING_COLOR : colors[labels[i]];
      ctx.beginPath();
      ctx.arc(frame.left + ((x - xMin) / (xMax - xMin)) * frame.width, frame.top + ((yMax - y) / (yMax - yMin)) * frame.height, radius, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  ctx.restore();

  drawFrame(ctx, frame);
  drawTitle(ctx, title, frame.left + frame.width / 2, top / 2);
  ctx.fillStyle = TEXT_COLOR;
  ctx.font = font(15);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.fillText(axisLabels[0], frame.left + frame.width / 2, frame.top + frame.height + 10);
  ctx.save();
  ctx.translate(frame.left - 12, frame.top + frame.height / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = 'bottom';
  ctx.fillText(axisLabels[1], 0, 0);
  ctx.restore();
  drawLegend(ctx, legend, frame.left + frame.width + legendGap, frame.top);
  return canvas.toBuffer('image/png');
}
