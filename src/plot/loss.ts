/** Line chart of each training-loss term per epoch: the report's loss figure. */
import {
  AXIS_COLOR, drawFrame, drawLegend, drawTitle, font, formatTick, layoutLegend, linearTicks, logTicks, TEXT_COLOR, whiteCanvas, type Frame,
} from './chart.js';
import { categoryColors } from './palette.js';

const MIN_PLOT_WIDTH = 500;

export interface EpochLosses {
  readonly epoch: number;
  readonly terms: Readonly<Record<string, number>>;
}

export interface LossPngOptions {
  readonly title: string;
  /** Canvas size; the width grows when the legend needs it. */
  readonly width?: number;
  readonly height?: number;
}

/**
 * PNG with one line per loss term (in first-seen order) against the epoch. The y axis is
 * logarithmic when every finite value is positive, linear otherwise; non-finite values leave gaps.
 */
export function lossPng(epochs: readonly EpochLosses[], options: LossPngOptions): Buffer {
  const { title, width = 1000, height = 600 } = options;
  const termNames: string[] = [];
  for (const { terms } of epochs) for (const name of Object.keys(terms)) if (!termNames.includes(name)) termNames.push(name);

  let xMin = Infinity, xMax = -Infinity, yMin = Infinity, yMax = -Infinity;
  for (const { epoch, terms } of epochs) {
    xMin = Math.min(xMin, epoch); xMax = Math.max(xMax, epoch);
    for (const value of Object.values(terms)) {
      if (Number.isFinite(value)) { yMin = Math.min(yMin, value); yMax = Math.max(yMax, value); }
    }
  }
  const hasValues = yMin <= yMax;
  const logY = hasValues && yMin > 0;
  // Margins as matplotlib's: 2% of the epoch range, 5% of the value range (of its logarithm on a log axis).
  if (xMax > xMin) [xMin, xMax] = [xMin - (xMax - xMin) * 0.02, xMax + (xMax - xMin) * 0.02];
  else [xMin, xMax] = Number.isFinite(xMin) ? [xMin - 1, xMin + 1] : [0, 1];
  if (!hasValues) [yMin, yMax] = [0, 1];
  else if (logY) {
    const ratio = yMax > yMin ? (yMax / yMin) ** 0.05 : 10;
    [yMin, yMax] = [yMin / ratio, yMax * ratio];
  } else {
    const margin = yMax > yMin ? (yMax - yMin) * 0.05 : Math.max(Math.abs(yMax) * 0.1, 1);
    [yMin, yMax] = [yMin - margin, yMax + margin];
  }

  const colors = categoryColors(termNames.length);
  const legend = layoutLegend(termNames.map((label, t) => ({ label, color: colors[t] })), height - 140, 'line');
  // The plot keeps at least MIN_PLOT_WIDTH: a wide legend widens the figure.
  const canvasWidth = Math.max(width, 90 + MIN_PLOT_WIDTH + 20 + legend.width + 20);
  const frame: Frame = { left: 90, top: 60, width: canvasWidth - 90 - 40 - legend.width, height: height - 60 - 80 };
  const { canvas, ctx } = whiteCanvas(canvasWidth, height);
  const toX = (epoch: number): number => frame.left + ((epoch - xMin) / (xMax - xMin)) * frame.width;
  const toY = (value: number): number => {
    const fraction = logY ? Math.log(value / yMin) / Math.log(yMax / yMin) : (value - yMin) / (yMax - yMin);
    return frame.top + (1 - fraction) * frame.height;
  };

  // Grid and ticks.
  ctx.font = font(13);
  ctx.fillStyle = TEXT_COLOR;
  ctx.lineWidth = 1;
  const xTicks = linearTicks(xMin, xMax, 8).filter((t) => Number.isInteger(t));
  const yTicks = logY ? logTicks(yMin, yMax) : linearTicks(yMin, yMax, 6);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of xTicks) {
    const x = Math.round(toX(t)) + 0.5;
    ctx.strokeStyle = '#e6e6e6';
    ctx.beginPath(); ctx.moveTo(x, frame.top); ctx.lineTo(x, frame.top + frame.height); ctx.stroke();
    ctx.strokeStyle = AXIS_COLOR;
    ctx.beginPath(); ctx.moveTo(x, frame.top + frame.height); ctx.lineTo(x, frame.top + frame.height + 5); ctx.stroke();
    ctx.fillText(formatTick(t), x, frame.top + frame.height + 8);
  }
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of yTicks) {
    const y = Math.round(toY(t)) + 0.5;
    ctx.strokeStyle = '#e6e6e6';
    ctx.beginPath(); ctx.moveTo(frame.left, y); ctx.lineTo(frame.left + frame.width, y); ctx.stroke();
    ctx.strokeStyle = AXIS_COLOR;
    ctx.beginPath(); ctx.moveTo(frame.left - 5, y); ctx.lineTo(frame.left, y); ctx.stroke();
    ctx.fillText(formatTick(t), frame.left - 8, y);
  }

  // One polyline per term, broken at missing or non-finite values; dots when there are few epochs.
  const sorted = [...epochs].sort((p, q) => p.epoch - q.epoch);
  const showDots = sorted.length <= 30;
  ctx.save();
  ctx.beginPath();
  ctx.rect(frame.left, frame.top, frame.width, frame.height);
  ctx.clip();
  termNames.forEach((name, t) => {
    ctx.strokeStyle = colors[t];
    ctx.fillStyle = colors[t];
    ctx.lineWidth = 2;
    ctx.lineJoin = 'round';
    ctx.beginPath();
    let penDown = false;
    for (const { epoch, terms } of sorted) {
      const value = terms[name];
      const drawable = value !== undefined && Number.isFinite(value) && (!logY || value > 0);
      if (!drawable) { penDown = false; continue; }
      if (penDown) ctx.lineTo(toX(epoch), toY(value)); else ctx.moveTo(toX(epoch), toY(value));
      penDown = true;
    }
    ctx.stroke();
    if (showDots) {
      for (const { epoch, terms } of sorted) {
        const value = terms[name];
        if (value === undefined || !Number.isFinite(value)) continue;
        ctx.beginPath(); ctx.arc(toX(epoch), toY(value), 3, 0, 2 * Math.PI); ctx.fill();
      }
    }
  });
  ctx.restore();

  drawFrame(ctx, frame);
  drawTitle(ctx, title, frame.left + frame.width / 2, 30);
  ctx.fillStyle = TEXT_COLOR;
  ctx.font = font(15);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.fillText('epoch', frame.left + frame.width / 2, frame.top + frame.height + 32);
  ctx.save();
  ctx.translate(24, frame.top + frame.height / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = 'middle';
  ctx.fillText(logY ? 'loss (log scale)' : 'loss', 0, 0);
  ctx.restore();
  drawLegend(ctx, legend, frame.left + frame.width + 20, frame.top);
  return canvas.toBuffer('image/png');
}
