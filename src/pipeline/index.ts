/**
 * The one analysis pipeline, its stages in order: read -> QC + normalise/log1p + HVG -> fit c*GMΔVÆ
 * -> latents and clusters -> UMAP -> marker genes -> write. The CLI's `run`, the queue worker and
 * the tests call runPipeline; each stage is a function of what the ones before it made.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { umap } from '../embed/umap.js';
import { readDataset } from '../io/index.js';
import { selectColumns, submatrix } from '../io/sparse.js';
import type { AnnData, DenseMatrix } from '../io/types.js';
import { markerSample } from '../markers/sample.js';
import { rankGenesGroups } from '../markers/wilcoxon.js';
import { integrationReport, type IntegrationReport } from '../metrics/integration.js';
import { fitModel, pickBackend, type FitResult, type ModelInputs } from '../model/index.js';
import { packageVersion } from '../paths.js';
import { flaggedIndices, preprocess, scale, type PreprocessResult, type PreprocessStep } from '../preprocess/index.js';
import { keepCells, readCovariates, type Covariate, type Covariates } from './covariates.js';
import { assignClusters, writeManifest, writeResults, type RunResults } from './outputs.js';
import { fitConfig, markerOptions, preprocessOptions, readOptions, resolveParams, settleParams, umapOptions, type PipelineParams, type SettledParams } from './params.js';
import { StageTracker } from './progress.js';
import type { PipelineJob, PipelineManifest, PipelineRunOptions } from './types.js';

export { PipelineInputError } from './covariates.js';
export { ParamsError, pipelineParamsSchema, resolveParams, type PipelineParams } from './params.js';
export * from './result-files.js';
export * from './types.js';

/** Where scaled inputs are clipped, as Seurat's ScaleData and scanpy's tutorials do. */
const SCALE_CLIP = 10;

/** sha256 of a file, or of a folder's files (names and bytes, sorted), streamed; `onProgress` gets the share of bytes hashed. */
async function checksum(path: string, onProgress: (fraction: number) => void): Promise<string> {
  const hash = createHash('sha256');
  const names = (await stat(path)).isDirectory() ? (await readdir(path, { recursive: true })).map(String).sort() : [''];
  const files: Array<{ name: string; full: string; size: number }> = [];
  for (const name of names) {
    const full = name ? join(path, name) : path;
    const info = await stat(full);
    if (info.isFile()) files.push({ name, full, size: info.size });
  }
  const total = files.reduce((sum, f) => sum + f.size, 0);
  let hashed = 0;
  for (const { name, full } of files) {
    hash.update(name);
    for await (const chunk of createReadStream(full)) {
      hash.update(chunk as Buffer);
      hashed += (chunk as Buffer).length;
      onProgress(total > 0 ? hashed / total : 1);
    }
  }
  return hash.digest('hex');
}

/** The preprocessed cells and their covariates: what the model, the markers and the outputs read. */
export interface Cells {
  readonly pre: PreprocessResult;
  readonly kept: Int32Array;
  readonly highlyVariable: Int32Array;
  readonly conditions: Covariate[];
  readonly label?: Covariate;
}

/** QC, normalisation and HVGs; the covariates restricted to the kept cells. */
export function preprocessCells(data: AnnData, params: PipelineParams, covariates: Covariates = readCovariates(data.obs, params), onStep?: (step: PreprocessStep) => void): Cells {
  const pre = preprocess(data, preprocessOptions(params), onStep);
  const kept = flaggedIndices(pre.qc.keepCells);
  return {
    pre,
    kept,
    highlyVariable: flaggedIndices(pre.hvg.highly_variable),
    conditions: covariates.conditions.map((c) => keepCells(c, kept)),
    label: covariates.label && keepCells(covariates.label, kept),
  };
}

/** What the model reads: the highly variable genes (counts for nb, optionally scaled), conditions, labels. */
export function modelInputs(cells: Cells, params: SettledParams): ModelInputs {
  const { data } = cells.pre;
  const counts = data.layers!.get('counts')!;
  const totals = data.obs.columns.get('total_counts');
  const hvg = cells.highlyVariable;
  const nb = params.likelihood === 'nb';
  return {
    x: nb ? selectColumns(counts, hvg) : params.scale ? scale(data.X, { genes: hvg, maxValue: SCALE_CLIP }).matrix : selectColumns(data.X, hvg),
    geneNames: Array.from(hvg, (g) => data.var.index[g]!),
    ...(nb && totals?.kind === 'numeric' ? { libSize: Float32Array.from(totals.values) } : {}),
    conditions: cells.conditions.map((c) => ({ name: c.name, categories: c.categories, codes: c.codes })),
    ...(cells.label ? { labels: { categories: cells.label.categories, codes: cells.label.codes } } : {}),
  };
}

/** Runs the whole analysis of one dataset and writes every result file into `job.outDir`. */
export async function runPipeline(job: PipelineJob, options: PipelineRunOptions = {}): Promise<PipelineManifest> {
  const startedAt = new Date();
  const given = resolveParams(job.params);
  const { signal } = options;
  const stages = new StageTracker(options.onProgress, signal);

  stages.enter('read', `reading ${basename(job.inputPath)}`);
  // The reader has no progress of its own; the checksum reads the same bytes alongside it.
  const [read, sha256] = await Promise.all([
    readDataset(job.inputPath, readOptions(given)),
    checksum(job.inputPath, (f) => stages.report('read', f / 2, `reading ${basename(job.inputPath)}`)),
  ]);
  const covariates = readCovariates(read.data.obs, given);
  const warnings = [...covariates.warnings];

  stages.enter('qc', `QC of ${read.data.X.nRows} cells x ${read.data.X.nCols} genes`);
  const cells = preprocessCells(read.data, given, covariates, (step) => {
    if (step === 'hvg') stages.enter('hvg', 'highly variable genes');
    else stages.report('qc', step === 'qc' ? 0 : 0.5, step === 'qc' ? 'QC metrics and filters' : 'normalising and log1p');
  });
  stages.report('hvg', 1, `${cells.kept.length} cells, ${cells.highlyVariable.length} highly variable genes`);
  const params: SettledParams = settleParams(given, cells.kept.length, read.values);

  stages.enter('fit', 'choosing a backend');
  const backend = await pickBackend({ log: (message) => stages.report('fit', 0, message) });
  const inputs = modelInputs(cells, params);
  const labelCategories = cells.label ? cells.label.categories.length : null;
  if (cells.label && typeof params.n_clusters === 'number' && labelCategories !== params.n_clusters) warnings.push(`n_clusters set to the ${labelCategories} categories of label_key "${cells.label.name}"`);
  const config = fitConfig(params, labelCategories);
  const { epochs } = config.training;
  let fitted = 0;
  const { model, training }: FitResult = await fitModel(inputs, config, {
    signal,
    // Placements, re-seeded components and NaN rollbacks, told where they happen.
    log: (message) => stages.report('fit', fitted, message),
    // Progress counts finished epochs from 1, as a person reads "epoch 3/60".
    onEpoch: (report) => {
      fitted = (report.epoch + 1) / epochs;
      stages.report('fit', fitted, `epoch ${report.epoch + 1}/${epochs}`, { epoch: report.epoch + 1, loss: report.train.total });
    },
  });
  try {
    stages.enter('latents', 'encoding cells');
    const prediction = model.predict(inputs);
    const clusters = assignClusters(prediction.clusters, prediction.nClusters, prediction.labelNames);
    const probability = Float32Array.from(prediction.clusters, (k, i) => prediction.probabilities[i * prediction.nClusters + k]!);
    const latent: DenseMatrix = { nRows: prediction.nCells, nCols: config.network.latentDim, data: prediction.muZ };
    const latentW: DenseMatrix = { nRows: prediction.nCells, nCols: config.network.wDim, data: prediction.muW };

    let integration: IntegrationReport | null = null;
    if (cells.conditions.length > 0 || cells.label) {
      stages.enter('integration', 'batch mixing and label conservation');
      integration = integrationReport(latent, clusters.codes, cells.conditions, cells.label, params.seed);
    }

    stages.enter('umap', 'UMAP of the latent space');
    const coords = await umap(latent, { ...umapOptions(params), signal, onProgress: (f, phase) => stages.report('umap', f, phase === 'knn' ? 'nearest neighbours' : 'UMAP layout') });

    stages.enter('markers', 'marker genes');
    const { data } = cells.pre;
    const sample = markerSample(clusters.codes, params.seed);
    const markerCells = sample ? submatrix(data.X, sample, null) : data.X;
    const markerLabels = sample ? Int32Array.from(sample, (row) => clusters.codes[row]!) : clusters.codes;
    const markers = rankGenesGroups(markerCells, markerLabels, data.var.index, { ...markerOptions(params), signal, onProgress: (f) => stages.report('markers', f, 'marker genes') });

    stages.enter('write', `writing results to ${job.outDir}`);
    await mkdir(job.outDir, { recursive: true });
    const versions = { scgmdvae: packageVersion, tfjs: tf.version.tfjs, backend: backend.name };
    const results: RunResults = {
      data,
      clusters,
      probability,
      latent,
      latentW,
      umap: coords,
      conditions: cells.conditions,
      label: cells.label,
      markers,
      history: training.history,
      provenance: { params, versions, clusters: { names: clusters.names, model_components: clusters.components }, ...(integration ? { integration } : {}) },
    };
    const outputs = await writeResults(job.outDir, results, (f, file) => stages.report('write', f, `writing ${file}`));
    stages.leave();
    const manifest: PipelineManifest = {
      scgmdvae_version: versions.scgmdvae,
      tfjs_version: versions.tfjs,
      backend: backend.name,
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      input: { name: basename(job.inputPath), sha256, format: read.format, matrix: read.matrix, values: read.values, n_obs: read.data.X.nRows, n_vars: read.data.X.nCols },
      cells: { input: read.data.X.nRows, kept: cells.kept.length },
      genes: { input: read.data.X.nCols, kept: data.X.nCols, highly_variable: cells.highlyVariable.length },
      clusters: { count: clusters.names.length, names: clusters.names, sizes: clusters.sizes },
      training: { epochs: training.history.length, best_epoch: training.bestEpoch, stopped_early: training.stoppedEarly, nan_rollbacks: training.nanRollbacks },
      markers: { cells: markerCells.nRows },
      integration,
      params,
      seed: params.seed,
      stage_seconds: stages.seconds,
      total_seconds: (performance.now() - stages.startedAt) / 1000,
      peak_rss_mb: process.resourceUsage().maxRSS / 1024,
      warnings,
      outputs,
    };
    await writeManifest(job.outDir, manifest);
    stages.report('write', 1, 'done');
    return manifest;
  } finally {
    model.dispose();
  }
}
