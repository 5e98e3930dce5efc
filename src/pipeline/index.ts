/**
 * The one analysis pipeline: read -> QC -> normalise/log1p -> HVG -> fit c*GMΔVÆ -> latents and
 * labels -> UMAP -> marker genes -> write. The CLI's `run`, the queue worker and the tests call it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { umap } from '../embed/umap.js';
import { writeH5ad } from '../io/h5ad-write.js';
import { readDataset } from '../io/index.js';
import { selectColumns } from '../io/sparse.js';
import type { AnnData, Column, DenseMatrix } from '../io/types.js';
import { rankGenesGroups } from '../markers/wilcoxon.js';
import { fitModel, pickBackend, type FitConfig, type ModelInputs, type Schedule } from '../model/index.js';
import { STEP_DECAY, THESIS_RATES } from '../model/index.js';
import { packageVersion } from '../paths.js';
import { categoryColors } from '../plot/palette.js';
import { lossPng } from '../plot/loss.js';
import { umapPng } from '../plot/umap.js';
import { flaggedIndices, preprocess, scale } from '../preprocess/index.js';
import { keepCells, readCovariates, type Covariate } from './covariates.js';
import { writeFileAtomic } from '../io/atomic.js';
import { assignClusters, cellsCsv, covariateColumn, latentCsv, markersCsv, markersFrame, numericColumn, toUns, trainingCsv, type ClusterAssignment } from './outputs.js';
import { resolveParams, type PipelineParams } from './params.js';
import { ProgressTracker } from './progress.js';
import { conditionUmapName, type PipelineRunOptions, type PipelineStage } from './types.js';

export { PipelineInputError } from './covariates.js';
export { ParamsError, pipelineParamsSchema, resolveParams, type PipelineParams } from './params.js';
export * from './types.js';

export interface PipelineJob {
  /** A dataset file, folder or archive, in any format the reader knows. */
  readonly inputPath: string;
  /** Folder the results are written to (created if needed). */
  readonly outDir: string;
  /** Parameters as the user gave them; validated and completed with defaults. */
  readonly params: unknown;
}

/** What a finished run did, written as manifest.json beside the results. */
export interface PipelineManifest {
  readonly scgmdvae_version: string;
  readonly tfjs_version: string;
  readonly backend: string;
  readonly started_at: string;
  readonly finished_at: string;
  readonly input: { name: string; sha256: string; format: string; matrix: string; values: string; n_obs: number; n_vars: number };
  readonly params: PipelineParams;
  readonly seed: number;
  readonly cells: { input: number; kept: number };
  readonly genes: { input: number; kept: number; highly_variable: number };
  readonly clusters: { count: number; names: string[]; sizes: number[] };
  readonly training: { epochs: number; best_epoch: number; stopped_early: boolean; nan_rollbacks: number };
  readonly stage_seconds: Partial<Record<PipelineStage, number>>;
  readonly total_seconds: number;
  readonly peak_rss_mb: number;
  readonly warnings: string[];
  readonly outputs: string[];
}

/** Where scaled inputs are clipped, as Seurat's ScaleData and scanpy's tutorials do. */
const SCALE_CLIP = 10;

/** QC metrics carried into the cell table and the h5ad, scanpy's names. */
const QC_COLUMNS = ['total_counts', 'n_genes_by_counts', 'pct_counts_mt'];

/** sha256 of a file, or of a folder's files (names and bytes, sorted), streamed. */
async function checksum(path: string): Promise<string> {
  const hash = createHash('sha256');
  const files = (await stat(path)).isDirectory() ? (await readdir(path, { recursive: true })).map(String).sort() : [''];
  for (const file of files) {
    const full = file ? join(path, file) : path;
    if (!(await stat(full)).isFile()) continue;
    hash.update(file);
    for await (const chunk of createReadStream(full)) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/** Parameters with the training length settled for the cells kept. */
type FitParams = PipelineParams & { epochs: number; component_init_epochs: number };

/** Cell passes that `epochs: null` aims for (a small file needs more epochs for the same number of steps). */
const AUTO_CELL_PASSES = 55_000;
const AUTO_EPOCHS: [number, number] = [20, 400];

/** Fill in the epochs and the component placement for `nCells` training cells where the parameters leave them to us. */
export function settleTrainingLength(params: PipelineParams, nCells: number): FitParams {
  const epochs = params.epochs ?? Math.min(AUTO_EPOCHS[1], Math.max(AUTO_EPOCHS[0], Math.round(AUTO_CELL_PASSES / Math.max(1, nCells))));
  return { ...params, epochs, component_init_epochs: params.component_init_epochs ?? Math.floor(epochs / 2) };
}

/** A step decay or the thesis' staircase stretched over `epochs`, or a constant / warm-up schedule. */
function scheduleOf(params: FitParams): Schedule {
  switch (params.schedule) {
    case 'step_decay':
      return { kind: 'staircase', rates: STEP_DECAY.map((f) => f * params.learning_rate), epochs: params.epochs };
    case 'staircase':
      return { kind: 'staircase', rates: THESIS_RATES.map((r) => (r * params.learning_rate) / 1e-3), epochs: params.epochs };
    case 'constant':
      return { kind: 'constant', rate: params.learning_rate, epochs: params.epochs };
    case 'warmup':
      return { kind: 'warmup', rate: params.learning_rate, warmupEpochs: Math.max(1, Math.round(params.epochs / 10)), epochs: params.epochs };
  }
}

/** Times stages and remembers the last one started, for the manifest. */
class StageClock {
  readonly seconds: Partial<Record<PipelineStage, number>> = {};
  private current?: { stage: PipelineStage; since: number };

  enter(stage: PipelineStage): void {
    this.leave();
    this.current = { stage, since: performance.now() };
  }

  leave(): void {
    if (this.current) this.seconds[this.current.stage] = (this.seconds[this.current.stage] ?? 0) + (performance.now() - this.current.since) / 1000;
    this.current = undefined;
  }
}

function modelInputs(data: AnnData, highlyVariable: Int32Array, params: PipelineParams, conditions: Covariate[], label: Covariate | undefined): ModelInputs {
  const counts = data.layers!.get('counts')!;
  const totals = data.obs.columns.get('total_counts');
  return {
    x: params.likelihood === 'nb' ? selectColumns(counts, highlyVariable) : params.scale ? scale(data.X, { genes: highlyVariable, maxValue: SCALE_CLIP }).matrix : selectColumns(data.X, highlyVariable),
    geneNames: Array.from(highlyVariable, (g) => data.var.index[g]!),
    ...(params.likelihood === 'nb' && totals?.kind === 'numeric' ? { libSize: Float32Array.from(totals.values) } : {}),
    conditions: conditions.map((c) => ({ name: c.name, categories: c.categories, codes: c.codes })),
    ...(label ? { labels: { categories: label.categories, codes: label.codes } } : {}),
  };
}

function fitConfig(params: FitParams, nComponents: number): FitConfig {
  return {
    nComponents,
    nz: params.latent_dim,
    nw: params.w_dim,
    hidden: params.hidden,
    likelihood: params.likelihood,
    dirichletAlpha: params.dirichlet_alpha,
    schedule: scheduleOf(params),
    componentInitEpochs: params.component_init_epochs,
    componentPlacement: params.component_placement,
    batchSize: params.batch_size,
    seed: params.seed,
  };
}

function resultAnnData(
  data: AnnData,
  clusters: ClusterAssignment,
  probability: Float32Array,
  embeddings: Record<'X_cgmvae' | 'X_cgmvae_w' | 'X_umap', DenseMatrix>,
  covariates: Covariate[],
  uns: Record<string, unknown>,
): AnnData {
  const obsColumns = new Map<string, Column>(data.obs.columns);
  for (const covariate of covariates) obsColumns.set(covariate.name, covariateColumn(covariate));
  obsColumns.set('cgmvae_cluster', { kind: 'categorical', categories: clusters.names, codes: clusters.codes, ordered: false });
  obsColumns.set('cgmvae_cluster_prob', numericColumn(probability));
  return {
    X: data.X,
    layers: data.layers,
    obs: { index: data.obs.index, columns: obsColumns },
    var: data.var,
    obsm: new Map(Object.entries(embeddings)),
    uns: uns as AnnData['uns'],
  };
}

/** Runs the whole analysis of one dataset and writes every result file into `job.outDir`. */
export async function runPipeline(job: PipelineJob, options: PipelineRunOptions = {}): Promise<PipelineManifest> {
  const startedAt = new Date();
  const started = performance.now();
  const given = resolveParams(job.params);
  // Genes that differ only between conditions would otherwise dominate the selection (CellBench: ARI 0.44 -> 1.0).
  let params: PipelineParams = { ...given, batch_key: given.batch_key ?? given.condition_keys[0] ?? null };
  const { signal } = options;
  const progress = new ProgressTracker(options.onProgress);
  const clock = new StageClock();
  const stage = (name: PipelineStage, message: string) => {
    signal?.throwIfAborted();
    clock.enter(name);
    progress.report(name, 0, message);
  };

  stage('read', `reading ${basename(job.inputPath)}`);
  const [read, sha256] = await Promise.all([readDataset(job.inputPath, { layer: params.layer ?? undefined, genome: params.genome ?? undefined }), checksum(job.inputPath)]);
  const covariates = readCovariates(read.data.obs, params);
  const warnings = [...covariates.warnings];

  stage('qc', `QC of ${read.data.X.nRows} cells x ${read.data.X.nCols} genes`);
  const pre = preprocess(read.data, {
    minGenes: params.min_genes ?? undefined,
    maxGenes: params.max_genes ?? undefined,
    minCounts: params.min_counts ?? undefined,
    maxCounts: params.max_counts ?? undefined,
    maxPctMito: params.max_pct_mito ?? undefined,
    minCells: params.min_cells ?? undefined,
    targetSum: params.target_sum,
    flavor: params.flavor,
    nTopGenes: params.n_top_genes,
    batchKey: params.batch_key ?? undefined,
  });
  const kept = flaggedIndices(pre.qc.keepCells);
  const conditions = covariates.conditions.map((c) => keepCells(c, kept));
  const label = covariates.label && keepCells(covariates.label, kept);
  const highlyVariable = flaggedIndices(pre.hvg.highly_variable);
  progress.report('hvg', 1, `${kept.length} cells, ${highlyVariable.length} highly variable genes`);

  stage('fit', 'choosing a backend');
  const backend = await pickBackend({ log: (message) => progress.report('fit', 0, message) });
  const inputs = modelInputs(pre.data, highlyVariable, params, conditions, label);
  const nComponents = label ? label.categories.length : params.n_clusters;
  if (label && label.categories.length !== params.n_clusters) warnings.push(`n_clusters set to the ${nComponents} categories of label_key "${label.name}"`);
  const fitParams = settleTrainingLength(params, kept.length);
  params = fitParams;
  const config = fitConfig(fitParams, nComponents);
  const totalEpochs = config.schedule!.epochs;
  const { model, training } = await fitModel(inputs, config, {
    signal,
    // Progress counts finished epochs from 1, as a person reads "epoch 3/60".
    onEpoch: (report) => progress.report('fit', (report.epoch + 1) / totalEpochs, `epoch ${report.epoch + 1}/${totalEpochs}`, { epoch: report.epoch + 1, loss: report.train.total }),
  });
  try {
    stage('latents', 'encoding cells');
    const prediction = model.predict(inputs);
    const clusters = assignClusters(prediction.clusters, prediction.nComponents, prediction.labelNames);
    const probability = Float32Array.from(prediction.clusters, (k, i) => prediction.probabilities[i * prediction.nComponents + k]!);
    const latent: DenseMatrix = { nRows: prediction.nCells, nCols: config.nz!, data: prediction.muZ };

    stage('umap', 'UMAP of the latent space');
    const coords = await umap(latent, { nNeighbors: params.n_neighbors, minDist: params.min_dist, spread: params.spread, seed: params.seed, signal, onProgress: (f) => progress.report('umap', f, 'UMAP') });

    stage('markers', 'marker genes');
    const markers = rankGenesGroups(pre.data.X, clusters.codes, pre.data.var.index, { nTop: params.markers_n, signal, onProgress: (f) => progress.report('markers', f, 'marker genes') });

    stage('write', `writing results to ${job.outDir}`);
    await mkdir(job.outDir, { recursive: true });
    const colors = categoryColors(clusters.names.length);
    const out = (name: string) => join(job.outDir, name);
    const allCovariates = label ? [...conditions, label] : conditions;
    const summary = {
      input: { name: basename(job.inputPath), sha256, format: read.format, matrix: read.matrix, values: read.values, n_obs: read.data.X.nRows, n_vars: read.data.X.nCols },
      cells: { input: read.data.X.nRows, kept: kept.length },
      genes: { input: read.data.X.nCols, kept: pre.data.X.nCols, highly_variable: highlyVariable.length },
      clusters: { count: clusters.names.length, names: clusters.names, sizes: clusters.sizes },
      training: { epochs: training.history.length, best_epoch: training.bestEpoch, stopped_early: training.stoppedEarly, nan_rollbacks: training.nanRollbacks },
    };
    const versions = { scgmdvae: packageVersion, tfjs: tf.version.tfjs, backend: backend.name };
    const h5ad = resultAnnData(
      pre.data,
      clusters,
      probability,
      { X_cgmvae: latent, X_cgmvae_w: { nRows: prediction.nCells, nCols: config.nw!, data: prediction.muW }, X_umap: coords },
      allCovariates,
      {
        ...(toUns({ cgmvae: { params, versions, clusters: { names: clusters.names, model_components: clusters.components } } }) as object),
        default_embedding: 'X_umap',
        cgmvae_cluster_colors: colors,
        cgmvae_markers: markersFrame(markers, clusters.names),
      },
    );
    const pictures: [string, Buffer][] = [
      ['umap.png', umapPng(coords, clusters.codes, clusters.names, { title: `c*GMΔVÆ clusters (${kept.length} cells)`, colors, axisLabels: ['UMAP1', 'UMAP2'] })],
      ['loss.png', lossPng(training.history.map((e) => ({ epoch: e.epoch, terms: { total: e.train.total, ...Object.fromEntries(Object.entries(e.train).filter(([k]) => k !== 'total')) } })), { title: 'Training loss per epoch' })],
      ...conditions.map((c): [string, Buffer] => [conditionUmapName(c.name), umapPng(coords, c.codes, c.categories, { title: `UMAP coloured by ${c.name}`, axisLabels: ['UMAP1', 'UMAP2'] })]),
    ];
    await writeH5ad(out('result.h5ad'), h5ad);
    await writeFileAtomic(out('cells.csv'), cellsCsv(h5ad.obs, clusters, probability, coords, allCovariates, QC_COLUMNS));
    await writeFileAtomic(out('markers.csv'), markersCsv(markers, clusters.names));
    await writeFileAtomic(out('latent.csv'), latentCsv(h5ad.obs.index, latent));
    await writeFileAtomic(out('training.csv'), trainingCsv(training.history));
    for (const [name, png] of pictures) await writeFileAtomic(out(name), png);
    clock.leave();
    const manifest: PipelineManifest = {
      scgmdvae_version: versions.scgmdvae,
      tfjs_version: versions.tfjs,
      backend: backend.name,
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      ...summary,
      params,
      seed: params.seed,
      stage_seconds: clock.seconds,
      total_seconds: (performance.now() - started) / 1000,
      peak_rss_mb: process.resourceUsage().maxRSS / 1024,
      warnings,
      outputs: ['result.h5ad', 'cells.csv', 'markers.csv', 'latent.csv', 'training.csv', ...pictures.map(([name]) => name), 'manifest.json'],
    };
    await writeFileAtomic(out('manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    progress.report('write', 1, 'done');
    return manifest;
  } finally {
    model.dispose();
  }
}

