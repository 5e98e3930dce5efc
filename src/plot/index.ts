export { umapPng, pointRadius, type UmapPngOptions } from './umap.js';
export { lossPng, type EpochLosses, type LossPngOptions } from './loss.js';
export { categoryColors, MISSING_COLOR } from './palette.js';
