export { knn, assertFinite, type KnnOptions, type KnnResult } from './knn.js';
export { umap, neighbourGraph, fitCurveParams, type UmapOptions } from './umap.js';
