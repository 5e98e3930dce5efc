/**
 * The one analysis pipeline, its stages in order: read -> QC + normalise/log1p + HVG -> fit c*GMΔVÆ
 * -> latents and clusters -> UMAP -> marker genes -> write. The CLI's `run`, the queue worker and
 * the tests call runPipeline; each stage is a function of what the ones before it made.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { umap } from '../embed/umap.js';
import { cacheAt } from '../io/block-cache.js';
import { withDatasetBlocks, type DatasetBlocks } from '../io/index.js';
import { gatherBlocks, inMemoryBlocks, subsetBlocks } from '../io/row-blocks.js';
import type { AnnData, DenseMatrix } from '../io/types.js';
import { classifyValues } from '../io/values.js';
import { markerSample } from '../markers/sample.js';
import { rankGenesGroups } from '../markers/wilcoxon.js';
import { integrationReport, type IntegrationReport } from '../metrics/integration.js';
import { fitModel, pickBackend, type FitResult, type ModelInputs } from '../model/index.js';
import { packageVersion } from '../paths.js';
import { flaggedIndices, indexFlags, preprocessHighlyVariable, scale, type BlockPasses, type DatasetInBlocks, type HighlyVariableResult, type PreprocessStep } from '../preprocess/index.js';
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
  readonly pre: HighlyVariableResult;
  readonly kept: Int32Array;
  readonly conditions: Covariate[];
  readonly label?: Covariate;
}

/** A dataset in memory as preprocessCells reads one (a file is read by blocks: withDatasetBlocks). */
export function datasetInMemory(data: AnnData): DatasetInBlocks {
  return { X: inMemoryBlocks(data.X), obs: data.obs, var: data.var, values: classifyValues(data.X) };
}

/** QC, normalisation and HVGs in passes over the dataset's blocks; the covariates restricted to the kept cells. */
export function preprocessCells(dataset: DatasetInBlocks, params: PipelineParams, covariates: Covariates = readCovariates(dataset.obs, params), passes: BlockPasses = {}): Cells {
  const pre = preprocessHighlyVariable(dataset, preprocessOptions(params), passes);
  const kept = flaggedIndices(pre.qc.keepCells);
  return {
    pre,
    kept,
    conditions: covariates.conditions.map((c) => keepCells(c, kept)),
    label: covariates.label && keepCells(covariates.label, kept),
  };
}

/** What the model reads: the highly variable genes (counts for nb, optionally scaled), conditions, labels. */
export function modelInputs(cells: Cells, params: SettledParams): ModelInputs {
  const { pre } = cells;
  const totals = pre.obs.columns.get('total_counts');
  const nb = params.likelihood === 'nb';
  return {
    x: nb ? pre.counts : params.scale ? scale(pre.X, { maxValue: SCALE_CLIP }).matrix : pre.X,
    geneNames: Array.from(pre.highlyVariable, (g) => pre.var.index[g]!),
    ...(nb && totals?.kind === 'numeric' ? { libSize: Float32Array.from(totals.values) } : {}),
    conditions: cells.conditions.map((c) => ({ name: c.name, categories: c.categories, codes: c.codes })),
    ...(cells.label ? { labels: { categories: cells.label.categories, codes: cells.label.codes } } : {}),
  };
}

/** The file the kept cells and genes are cached in after QC: beside the results folder (made only when the run writes), removed by the run. */
const keptCachePath = (outDir: string) => join(dirname(outDir), `.${basename(outDir)}.kept-cells-${process.pid}.blocks`);

/** Runs the whole analysis of one dataset and writes every result file into `job.outDir`. */
export async function runPipeline(job: PipelineJob, options: PipelineRunOptions = {}): Promise<PipelineManifest> {
  const startedAt = new Date();
  const given = resolveParams(job.params);
  const { signal } = options;
  const stages = new StageTracker(options.onProgress, signal);

  stages.enter('read', `reading ${basename(job.inputPath)}`);
  const sha256 = await checksum(job.inputPath, (f) => stages.report('read', f, `reading ${basename(job.inputPath)}`));
  await mkdir(dirname(job.outDir), { recursive: true });
  // The passes after QC, the markers and the result files read the kept cells from this cache, not the input again.
  const cache = cacheAt(keptCachePath(job.outDir));
  try {
    const { read, cells, warnings } = await withDatasetBlocks(job.inputPath, readOptions(given), (dataset) => {
      const covariates = readCovariates(dataset.obs, given);
      let step: PreprocessStep = 'qc';
      stages.enter('qc', `QC of ${dataset.X.nRows} cells x ${dataset.X.nCols} genes`);
      const preprocessed = preprocessCells(dataset, given, covariates, {
        cache: cache.make,
        onStep: (next) => {
          step = next;
          if (step === 'hvg') stages.enter('hvg', 'highly variable genes');
        },
        onPass: (f) => (step === 'hvg' ? stages.report('hvg', f, 'highly variable genes') : stages.report('qc', step === 'qc' ? f / 2 : 0.5 + f / 2, step === 'qc' ? 'QC metrics and filters' : 'normalising and log1p')),
      });
      const { format, matrix, values, X } = dataset;
      return { read: { format, matrix, values, nObs: X.nRows, nVars: X.nCols }, cells: preprocessed, warnings: [...covariates.warnings] };
    });
    stages.report('hvg', 1, `${cells.kept.length} cells, ${cells.pre.highlyVariable.length} highly variable genes`);
    return await analyse(job, { given, signal, stages, startedAt, sha256, read, cells, warnings });
  } finally {
    cache.dispose();
  }
}

/** What runPipeline has made by the time the model is fitted. */
interface Preprocessed {
  readonly given: PipelineParams;
  readonly signal?: AbortSignal;
  readonly stages: StageTracker;
  readonly startedAt: Date;
  readonly sha256: string;
  readonly read: Pick<DatasetBlocks, 'format' | 'matrix' | 'values'> & { nObs: number; nVars: number };
  readonly cells: Cells;
  readonly warnings: string[];
}

/** The stages after preprocessing: fit, latents and clusters, integration metrics, UMAP, markers, the result files. */
async function analyse(job: PipelineJob, { given, signal, stages, startedAt, sha256, read, cells, warnings }: Preprocessed): Promise<PipelineManifest> {
  const { pre } = cells;
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
    const sample = markerSample(clusters.codes, params.seed);
    const markerCells = gatherBlocks(sample ? subsetBlocks(pre.kept.X, indexFlags(sample, cells.kept.length), null) : pre.kept.X);
    const markerLabels = sample ? Int32Array.from(sample, (row) => clusters.codes[row]!) : clusters.codes;
    const markers = rankGenesGroups(markerCells, markerLabels, pre.var.index, { ...markerOptions(params), signal, onProgress: (f) => stages.report('markers', f, 'marker genes') });

    stages.enter('write', `writing results to ${job.outDir}`);
    await mkdir(job.outDir, { recursive: true });
    const versions = { scgmdvae: packageVersion, tfjs: tf.version.tfjs, backend: backend.name };
    const results: RunResults = {
      cells: { obs: pre.obs, var: pre.var, X: pre.kept.X, counts: pre.kept.counts },
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
      input: { name: basename(job.inputPath), sha256, format: read.format, matrix: read.matrix, values: read.values, n_obs: read.nObs, n_vars: read.nVars },
      cells: { input: read.nObs, kept: cells.kept.length },
      genes: { input: read.nVars, kept: pre.var.index.length, highly_variable: pre.highlyVariable.length },
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
