/** Preprocessing that agrees with Seurat and scanpy: QC, normalisation, highly variable genes, scaling. */
export { PreprocessError } from './errors.js';
export { cellQcMetrics, flaggedIndices, geneQcMetrics, geneSetMask, MITO_PATTERN, qcFilter, subsetCsr } from './qc.js';
export type { CellQc, GeneQc, QcFilters, QcResult } from './qc.js';
export { log1p, normalizeTotal } from './normalize.js';
export type { Log1pOptions, Log1pRecord, NormalizeRecord, NormalizeTotalOptions } from './normalize.js';
export { HVG_FLAVORS, highlyVariableGenes } from './hvg.js';
export type { HvgColumns, HvgFlavor, HvgOptions } from './hvg.js';
export { loessFit } from './loess.js';
export type { LoessOptions } from './loess.js';
export { scale } from './scale.js';
export type { ScaleOptions } from './scale.js';
export { geneMeanVar } from './stats.js';
export type { GeneMeanVar } from './stats.js';
export { hvgCsv, PREPROCESS_FLAGS, preprocess, preprocessOptionsFromFlags, qcCellsCsv, runPreprocessCommand } from './command.js';
export type { PreprocessOptions, PreprocessResult, PreprocessSummary } from './command.js';
