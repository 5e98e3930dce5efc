/**
 * The model's own figures: writes one JSON file per run under bench/out/.
 *
 *   npx tsx bench/model.ts [--items blobs,speed,cellbench,pbmc,mnist] [--seed 0] [--out bench/out/model.json]
 *                          [--speed-backends tensorflow,webgpu,wasm,cpu]
 *
 * The single-cell items (cellbench, pbmc, speed) train through the pipeline's resolved parameters, as
 * `run` does. Two items cannot: the blobs are 16-dimensional Gaussians, not expression, and need a
 * small network; MNIST's pixels take the Bernoulli likelihood, which the product does not offer, and a
 * schedule of their own. Both start from the same translation and state what they change. Items
 * needing ../shared/data are recorded as skipped when it is absent. Each item's settings are written
 * next to its figures, so a run is reproducible from the JSON and the seed.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { fitModel, pickBackend, type FitConfig, type ModelInputs, type NetworkConfig, type TrainingConfig } from '../src/model/index.js';
import { adjustedRandIndex, clusterPurity, hungarianAccuracy, normalizedMutualInfo } from '../src/metrics/index.js';
import { fitConfig, resolveParams, settleParams } from '../src/pipeline/params.js';
import { Rng } from '../src/random.js';
import { thesisBlobs } from '../test/fixtures/model/blobs.js';
import { dataPath, loadMnist, loadSingleCell, obsCodes, obsIs } from './model-data.js';
import { speedOnCurrentBackend, type SpeedFigures } from './model-speed.js';

const { values: args } = parseArgs({
  options: {
    items: { type: 'string', default: 'blobs,speed,cellbench,pbmc,mnist' },
    seed: { type: 'string', default: '0' },
    out: { type: 'string' },
    'speed-backends': { type: 'string', default: 'tensorflow,webgpu,wasm,cpu' },
    // Internal: run only the speed measurement on the current backend and print JSON (one process per backend).
    'speed-child': { type: 'boolean', default: false },
  },
});
const seed = Number(args.seed);

if (args['speed-child']) {
  try {
    await pickBackend({ log: () => {} });
  } catch (err) {
    process.stdout.write(JSON.stringify({ unavailable: (err as Error).message }) + '\n');
    process.exit(0);
  }
  process.stdout.write(JSON.stringify(await speedOnCurrentBackend(seed, undefined, true)) + '\n');
  process.exit(0);
}

const choice = await pickBackend();
const out = args.out ?? `bench/out/model-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
const report: Record<string, unknown> = {
  issue: 4,
  seed,
  backend: choice.name,
  skippedBackends: choice.skipped,
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
  startedAt: new Date().toISOString(),
};

async function save(): Promise<void> {
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(report, null, 1));
}

const round = (v: number, d = 4) => Number(v.toFixed(d));

/** The product's config for `params` on `nCells` cells and K clusters, with the named changes laid over it. */
function productConfig(params: object, nCells: number, nClusters: number, change: { network?: Partial<NetworkConfig>; training?: Partial<TrainingConfig> } = {}): FitConfig {
  const base = fitConfig(settleParams(resolveParams({ ...params, n_clusters: nClusters }), nCells, 'counts'), null);
  return { network: { ...base.network, ...change.network }, training: { ...base.training, ...change.training } };
}

/** Fit, predict, and time. */
async function fitAndPredict(inputs: ModelInputs, config: FitConfig) {
  const started = performance.now();
  const { model, training } = await fitModel(inputs, config);
  const prediction = model.predict(inputs);
  return { model, training, prediction, seconds: (performance.now() - started) / 1000 };
}

function lossSummary(history: { epoch: number; train: { total: number }; validation: { total: number } | null }[]) {
  const last = history.at(-1);
  return { epochs: history.length, finalTrainLoss: last ? round(last.train.total, 3) : null, finalValidationLoss: last?.validation ? round(last.validation.total, 3) : null };
}

// 1. Thesis blobs: three training seeds on the same data, to show how often the recipe finds all five classes.
async function blobsItem() {
  const blobs = thesisBlobs(seed + 1);
  const conditionNames = ['c0', 'c1'];
  const inputs: ModelInputs = { x: blobs.x, conditions: [{ name: 'condition', categories: conditionNames, codes: blobs.conditions }] };
  const dims = blobs.x.nCols;
  // A small network for 16 dimensions (latentHidden is no parameter of the product), no validation split.
  const settings = { latent_dim: 2, w_dim: 2, hidden: [64, 64], batch_size: 128, schedule: 'constant', learning_rate: 5e-3, epochs: 40, component_init_epochs: 20 };
  const base = productConfig(settings, blobs.x.nRows, 5, { network: { latentHidden: [32] }, training: { validationFraction: 0 } });
  const runs = [];
  for (const runSeed of [seed, seed + 1, seed + 2]) {
    const { model, training, prediction, seconds } = await fitAndPredict(inputs, { network: base.network, training: { ...base.training, seed: runSeed } });
    // Flip: encode with the true condition, decode with the other; distance to each condition's class mean.
    const flipped = conditionNames.map((name) => model.flip(inputs, 'condition', name));
    let toTarget = 0;
    let toSource = 0;
    for (let i = 0; i < blobs.x.nRows; i++) {
      const from = blobs.conditions[i];
      const row = flipped[1 - from].subarray(i * dims, (i + 1) * dims);
      const dist = (mean: Float64Array) => Math.sqrt(row.reduce((s, v, d) => s + (v - mean[d]) ** 2, 0));
      toTarget += dist(blobs.means[1 - from][blobs.labels[i]]);
      toSource += dist(blobs.means[from][blobs.labels[i]]);
    }
    runs.push({
      seed: runSeed,
      accuracy: round(hungarianAccuracy(blobs.labels, prediction.clusters)),
      purity: round(clusterPurity(blobs.labels, prediction.clusters)),
      nmiClustersCondition: round(normalizedMutualInfo(blobs.conditions, prediction.clusters)),
      flip: { meanDistanceToTargetConditionBlob: round(toTarget / blobs.x.nRows), meanDistanceToSourceConditionBlob: round(toSource / blobs.x.nRows) },
      revivedComponents: training.history.reduce((n, h) => n + h.revived.length, 0),
      seconds: round(seconds, 1),
      ...lossSummary(training.history),
    });
    model.dispose();
    report.blobs = { data: { dims, classes: 5, conditions: 2, perGroup: 350, seed: seed + 1 }, config: base, runs };
    await save();
  }
}

// 5. Speed, one child process per backend (the tfjs backend is chosen once per process).
async function speedItem() {
  const perBackend: Record<string, SpeedFigures | { unavailable: string }> = {};
  for (const backend of args['speed-backends']!.split(',')) {
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'bench/model.ts', '--speed-child', '--seed', String(seed)], {
      env: { ...process.env, SCGMDVAE_BACKEND: backend },
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    const line = child.stdout.trim().split('\n').at(-1) ?? '';
    perBackend[backend] = child.status === 0 && line.startsWith('{') ? JSON.parse(line) : { unavailable: `exit ${child.status}: ${child.stderr.trim().split('\n').at(-1) ?? ''}`.slice(0, 300) };
    report.speed = perBackend;
    await save();
  }
}

// 3. CellBench singlets, conditional on platform, with the product's defaults.
async function cellbenchItem() {
  const path = dataPath('cellbench/cellbench_2platforms.h5ad');
  if (!path) return void (report.cellbench = { skipped: '../shared/data absent' });
  const params = resolveParams({ condition_keys: ['platform'], n_clusters: 3, seed });
  const { cells, inputs } = await loadSingleCell(path, params, (data, cell) => obsIs(data, 'demuxlet_cls', 'SNG')(cell));
  const config = productConfig(params, cells.kept.length, 3);
  const { model, training, prediction, seconds } = await fitAndPredict(inputs, config);
  report.cellbench = {
    cells: inputs.x.nRows,
    genes: inputs.x.nCols,
    config,
    ari: round(adjustedRandIndex(obsCodes(cells, 'cell_line_demuxlet'), prediction.clusters)),
    nmiClustersPlatform: round(normalizedMutualInfo(obsCodes(cells, 'platform'), prediction.clusters)),
    seconds: round(seconds, 1),
    ...lossSummary(training.history),
  };
  model.dispose();
}

// 4. Sorted PBMC, unsupervised, each likelihood with the product's defaults; ARI per epoch gives the time to reach the final ARI.
async function pbmcItem() {
  const path = dataPath('pbmc_sorted/pbmc_facs_sorted_2140.h5ad');
  if (!path) return void (report.pbmc = { skipped: '../shared/data absent' });
  const results: Record<string, unknown> = {};
  let shape = { cells: 0, genes: 0 };
  for (const likelihood of ['mse', 'gaussian', 'nb'] as const) {
    const params = resolveParams({ likelihood, n_clusters: 9, seed });
    const { cells, inputs } = await loadSingleCell(path, params);
    const labels = obsCodes(cells, 'label');
    shape = { cells: inputs.x.nRows, genes: inputs.x.nCols };
    const config = productConfig(params, cells.kept.length, 9);
    const curve: { epoch: number; seconds: number; ari: number }[] = [];
    const started = performance.now();
    // Prediction time is excluded from the curve's clock.
    let predicting = 0;
    const { model, training } = await fitModel(inputs, config, {
      onEpoch: (r, m) => {
        const t = performance.now();
        curve.push({ epoch: r.epoch, seconds: round((t - started - predicting) / 1000, 1), ari: round(adjustedRandIndex(labels, m.predict(inputs).clusters)) });
        predicting += performance.now() - t;
      },
    });
    const seconds = (performance.now() - started - predicting) / 1000;
    const clusters = model.predict(inputs).clusters;
    const ari = adjustedRandIndex(labels, clusters);
    const reached = curve.find((c) => c.ari >= ari - 0.005);
    results[likelihood] = { config, ari: round(ari), nmi: round(normalizedMutualInfo(labels, clusters)), trainSeconds: round(seconds, 1), secondsToFinalAri: reached?.seconds ?? null, ...lossSummary(training.history), curve };
    model.dispose();
    report.pbmc = { ...shape, results };
    await save();
  }
  const best = Object.entries(results).sort((a, b) => (b[1] as { ari: number }).ari - (a[1] as { ari: number }).ari)[0];
  report.pbmc = { ...shape, results, bestLikelihood: best[0] };
}

// 2. MNIST test set: unsupervised K = 10 and semi-supervised with 5 % labels.
async function mnistItem() {
  const mnist = await loadMnist();
  if (!mnist) return void (report.mnist = { skipped: '../shared/data absent' });
  // Pixels take the Bernoulli likelihood and a staircase of their own; components placed on the Louvain communities of the warmed-up latent means
  // (the thesis trains on Louvain labels for its best MNIST figures), then trained on them for a quarter of the remaining epochs.
  const settings = { batch_size: 128, epochs: 48, component_init_epochs: 16, component_placement: 'louvain', seed };
  const config = productConfig(settings, mnist.x.nRows, 10, {
    network: { latentHidden: [256], dropout: 0, likelihood: 'bernoulli' },
    training: { validationFraction: 0, anchorShare: 0.25, schedule: { kind: 'staircase', rates: [1e-4, 1e-3, 1e-3, 1e-3, 1e-3, 1e-4] } },
  });
  const curve: { epoch: number; purity: number }[] = [];
  const started = performance.now();
  const fit = await fitModel({ x: mnist.x }, config, {
    onEpoch: (r, m) => void (r.epoch % 4 === 3 && curve.push({ epoch: r.epoch, purity: round(clusterPurity(mnist.labels, m.predict({ x: mnist.x }).clusters)) })),
  });
  const un = { ...fit, prediction: fit.model.predict({ x: mnist.x }), seconds: (performance.now() - started) / 1000 };
  report.mnist = {
    unsupervised: {
      config,
      curve,
      purity: round(clusterPurity(mnist.labels, un.prediction.clusters)),
      accuracy: round(hungarianAccuracy(mnist.labels, un.prediction.clusters)),
      nmi: round(normalizedMutualInfo(mnist.labels, un.prediction.clusters)),
      seconds: round(un.seconds, 1),
      ...lossSummary(un.training.history),
    },
  };
  un.model.dispose();
  await save();
  // 5 % labelled, chosen by a seeded permutation; accuracy over all cells (labelled ones included) and over the unlabelled.
  const codes = new Int32Array(mnist.labels.length).fill(-1);
  const permutation = new Rng(seed).shuffle(Int32Array.from({ length: codes.length }, (_, i) => i));
  for (const i of permutation.subarray(0, Math.round(0.05 * codes.length))) codes[i] = mnist.labels[i];
  const labelNames = Array.from({ length: 10 }, (_, d) => String(d));
  // Longer than the unsupervised run, which the unlabelled digits need (docs/decisions.md).
  const semiConfig: FitConfig = { network: config.network, training: { ...config.training, epochs: 72, schedule: { kind: 'staircase', rates: [1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-4] } } };
  const semi = await fitAndPredict({ x: mnist.x, labels: { categories: labelNames, codes } }, semiConfig);
  const unlabelled = Int32Array.from(codes, (c) => (c < 0 ? 1 : 0));
  const predicted = semi.prediction.clusters;
  let hits = 0;
  let n = 0;
  for (let i = 0; i < codes.length; i++) if (unlabelled[i]) ((n += 1), (hits += predicted[i] === mnist.labels[i] ? 1 : 0));
  (report.mnist as Record<string, unknown>).semiSupervised5pct = {
    config: semiConfig,
    labelled: codes.length - n,
    accuracyOnUnlabelled: round(hits / n),
    accuracyAll: round(predicted.reduce((s, p, i) => s + (p === mnist.labels[i] ? 1 : 0), 0) / codes.length),
    seconds: round(semi.seconds, 1),
    ...lossSummary(semi.training.history),
  };
  semi.model.dispose();
}

const ITEMS: Record<string, () => Promise<void>> = { blobs: blobsItem, speed: speedItem, cellbench: cellbenchItem, pbmc: pbmcItem, mnist: mnistItem };
for (const item of args.items!.split(',')) {
  const run = ITEMS[item];
  if (!run) throw new Error(`unknown item '${item}'; items: ${Object.keys(ITEMS).join(', ')}`);
  console.error(`bench/model: ${item}…`);
  await run();
  report.tensorsAfter = tf.memory().numTensors;
  await save();
  console.error(`bench/model: ${item} done → ${out}`);
}
report.finishedAt = new Date().toISOString();
await save();
console.log(out);
