import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { lossPng } from '../../src/plot/loss.js';
import { categoryColors } from '../../src/plot/palette.js';
import { umapPng } from '../../src/plot/umap.js';
import { linearTicks, logTicks } from '../../src/plot/chart.js';

/** Decoded RGBA pixels of a PNG. */
async function pixels(png: Buffer): Promise<{ width: number; height: number; rgba: Uint8ClampedArray }> {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, 0, 0);
  return { width: image.width, height: image.height, rgba: ctx.getImageData(0, 0, image.width, image.height).data };
}

function countColor(rgba: Uint8ClampedArray, hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let count = 0;
  for (let p = 0; p < rgba.length; p += 4) if (rgba[p] === r && rgba[p + 1] === g && rgba[p + 2] === b) count++;
  return count;
}

/** Pixels of dark (text-like) colour inside a rectangle. */
function darkPixels(image: { width: number; rgba: Uint8ClampedArray }, x0: number, y0: number, x1: number, y1: number): number {
  let count = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const p = (y * image.width + x) * 4;
      if (image.rgba[p] < 90 && image.rgba[p + 1] < 90 && image.rgba[p + 2] < 90) count++;
    }
  }
  return count;
}

test('categoryColors follows scanpy default_20 / default_28 / default_102', () => {
  assert.deepEqual(categoryColors(3), ['#1f77b4', '#ff7f0e', '#279e68']);
  assert.equal(categoryColors(20)[19], '#8c6d31');
  assert.equal(categoryColors(21)[0], '#023fa5');
  assert.equal(categoryColors(29)[0], '#ffff00');
  assert.equal(categoryColors(102)[101], '#324e72');
  assert.equal(categoryColors(104)[102], '#ffff00');
  assert.ok(categoryColors(102).every((c) => /^#[0-9a-f]{6}$/.test(c)));
  assert.equal(new Set(categoryColors(102)).size, 102);
});

test('ticks are round and cover the range', () => {
  assert.deepEqual(linearTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(linearTicks(-0.35, 0.35, 6), [-0.2, 0, 0.2]);
  assert.deepEqual(linearTicks(0, 1, 10), [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
  assert.deepEqual(logTicks(0.05, 2000), [0.1, 1, 10, 100, 1000]);
  assert.deepEqual(logTicks(3, 60), [5, 10, 20, 50]);
});

test('umapPng draws every category in its colour, grey for missing, and legend text', async () => {
  const n = 300;
  const coords = new Float32Array(n * 2);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 10 === 9 ? -1 : i % 3;
    coords[2 * i] = (i % 3) * 5 + Math.sin(i);
    coords[2 * i + 1] = Math.cos(i * 1.7) + (i % 3);
  }
  const png = umapPng({ nRows: n, nCols: 2, data: coords }, labels, ['B cells', 'T cells', 'NK'], { title: 'Clusters' });
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const image = await pixels(png);
  assert.deepEqual([image.width, image.height], [1000, 800]);
  for (const color of [...categoryColors(3), '#d3d3d3']) assert.ok(countColor(image.rgba, color) > 50, color);
  // Title band and the legend column (right of the square plot) contain rendered text.
  assert.ok(darkPixels(image, 0, 0, 1000, 50) > 100, 'title text');
  assert.ok(darkPixels(image, 800, 60, 1000, 200) > 100, 'legend text');
  assert.throws(() => umapPng({ nRows: 1, nCols: 2, data: new Float32Array(2) }, Int32Array.from([3]), ['a'], { title: '' }), RangeError);
});

test('lossPng draws each term, on a log axis when all values are positive, with gaps for NaN', async () => {
  const epochs = Array.from({ length: 50 }, (_, e) => ({
    epoch: e + 1,
    terms: { reconstruction: 500 * Math.exp(-e / 10) + 100, kl: e === 20 ? NaN : 1 + e / 5 },
  }));
  const image = await pixels(lossPng(epochs, { title: 'Loss' }));
  assert.deepEqual([image.width, image.height], [1000, 600]);
  for (const color of categoryColors(2)) assert.ok(countColor(image.rgba, color) > 100, color);
  assert.ok(darkPixels(image, 0, 60, 85, 540) > 200, 'y tick labels and axis title');
  const negative = await pixels(lossPng([{ epoch: 0, terms: { elbo: -3 } }, { epoch: 1, terms: { elbo: 2 } }], { title: 'ELBO' }));
  assert.ok(countColor(negative.rgba, categoryColors(1)[0]) > 50);
  const empty = await pixels(lossPng([], { title: 'No epochs yet' }));
  assert.equal(empty.width, 1000);
});
