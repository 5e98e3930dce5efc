/** Colours of the scatter plot: category colours (the PNG plots' palette) and viridis for numbers, as scanpy. */
import { categoryColors, MISSING_COLOR } from '../../plot/palette.js';

export { categoryColors, MISSING_COLOR };

/** matplotlib's viridis at 0, 1/8, ..., 1; the map between them is linear. */
const VIRIDIS_STOPS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#fde725'];

export function hexToRgb(hex: string): [number, number, number] {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!match) throw new RangeError(`not a #rrggbb colour: ${hex}`);
  return [parseInt(match[1]!, 16), parseInt(match[2]!, 16), parseInt(match[3]!, 16)];
}

/** `steps` RGBA colours (4 bytes each) from the low to the high end of viridis. */
export function viridisRamp(steps = 256): Uint8Array {
  const stops = VIRIDIS_STOPS.map(hexToRgb);
  const ramp = new Uint8Array(steps * 4);
  for (let s = 0; s < steps; s++) {
    const t = (s / (steps - 1)) * (stops.length - 1);
    const i = Math.min(stops.length - 2, Math.floor(t));
    const f = t - i;
    for (let c = 0; c < 3; c++) ramp[4 * s + c] = Math.round(stops[i]![c]! * (1 - f) + stops[i + 1]![c]! * f);
    ramp[4 * s + 3] = 255;
  }
  return ramp;
}

/** The CSS gradient of the legend's colour bar. */
export const VIRIDIS_CSS = `linear-gradient(to right, ${VIRIDIS_STOPS.join(', ')})`;

/** Lowest and highest finite value (0, 1 when there is none; a flat range is widened so it still maps). */
export function valueRange(values: Float32Array): [number, number] {
  let low = Infinity;
  let high = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < low) low = v;
    if (v > high) high = v;
  }
  if (low > high) return [0, 1];
  return low === high ? [low, low + 1] : [low, high];
}
