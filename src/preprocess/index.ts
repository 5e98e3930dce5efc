/** Preprocessing that agrees with Seurat and scanpy: QC, normalisation, highly variable genes, scaling. */
export { PreprocessError } from './errors.js';
export { cellQcMetrics, flaggedIndices, indexFlags, geneSetMask, MITO_PATTERN, qcFilter } from './qc.js';
export type { CellQc, GeneQc, QcFilters, QcResult } from './qc.js';
export { log1p, normalizeTotal, NORMALIZE_DEFAULTS } from './normalize.js';
export type { Log1pOptions, Log1pRecord, NormalizeRecord, NormalizeTotalOptions } from './normalize.js';
export { HVG_DEFAULTS, HVG_FLAVORS, highlyVariableGenes } from './hvg.js';
export type { HvgColumns, HvgFlavor, HvgOptions } from './hvg.js';
export { loessFit } from './loess.js';
export type { LoessOptions } from './loess.js';
export { scale } from './scale.js';
export type { ScaleOptions } from './scale.js';
export { geneMeanVar } from './mean-var.js';
export type { GeneMeanVar } from './mean-var.js';
export { preprocess, preprocessHighlyVariable } from './recipe.js';
export type { BlockPasses, DatasetInBlocks, HighlyVariableResult, PreprocessOptions, PreprocessResult, PreprocessStep, PreprocessSummary } from './recipe.js';
export { hvgCsv, qcCellsCsv } from './tables.js';
