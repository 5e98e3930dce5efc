export { knn, assertFinite, type KnnOptions, type KnnResult } from './knn.js';
export { umap, fitCurveParams, type UmapOptions } from './umap.js';
