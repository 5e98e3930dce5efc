/**
 * The device half of bench/gpu.sh, bundled with esbuild so it runs without node_modules: on one
 * backend, the quality of CellBench's two platforms (ARI of the clusters with the cell lines on
 * demuxlet's singlets, default parameters) and the training throughput (cells/s over one epoch,
 * default model and batch size) on pbmc3k inputs sampled to each size, skipping a size whose time,
 * extrapolated from the smaller one, would overrun the budget. Writes one JSON file.
 *
 *   node gpu.mjs --inputs=DIR --backend=webgpu|wasm|tensorflow --out=FILE [--sizes=100000,1000000] [--budget-s=200] [--batch-size=N] [--only=quality|throughput]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { adjustedRandIndex } from '../src/metrics/index.js';
import { fitModel, parseBackendName, pickBackend, type FitConfig, type ModelInputs } from '../src/model/index.js';
import { fitConfig, resolveParams, settleParams } from '../src/pipeline/params.js';
import { mulberry32 } from '../src/random.js';
import { loadInputs, sampleInputs } from './gpu-inputs.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const inputsDir = arg('inputs') ?? '.gpu/inputs';
const out = arg('out') ?? 'bench/out/gpu.json';
const sizes = (arg('sizes') ?? '100000,1000000').split(',').map(Number);
const budgetSeconds = Number(arg('budget-s') ?? 200);
const batchSize = arg('batch-size') === undefined ? undefined : Number(arg('batch-size'));
const only = arg('only');
const started = performance.now();
const report: Record<string, unknown> = { started: new Date().toISOString(), node: process.version };
const save = () => writeFileSync(out, JSON.stringify(report, null, 2));

const choice = await pickBackend({ force: parseBackendName(arg('backend')), log: (m) => console.error(m) });
report.backend = choice.name;

/** Trains on `inputs` with the pipeline's configuration for `params`, timing the whole fit. */
async function fit(inputs: ModelInputs, params: Record<string, unknown>, change: (config: FitConfig) => FitConfig = (c) => c) {
  const settled = settleParams(resolveParams({ ...params, ...(batchSize ? { batch_size: batchSize } : {}) }), inputs.x.nRows, 'counts');
  const config = change(fitConfig(settled, null));
  const start = performance.now();
  const { model, training } = await fitModel(inputs, config);
  return { model, training, config, seconds: (performance.now() - start) / 1000 };
}

if (only !== 'throughput') {
  const cellbench = loadInputs(join(inputsDir, 'cellbench'));
  const { model, training, config, seconds } = await fit(cellbench.inputs, cellbench.params);
  const { clusters } = model.predict(cellbench.inputs);
  model.dispose();
  const labelled = Array.from(cellbench.truth.keys()).filter((i) => cellbench.truth[i] >= 0);
  report.quality = {
    dataset: 'cellbench_2platforms', cells: cellbench.inputs.x.nRows, epochs: training.history.length, batchSize: config.training.batchSize, seconds: Number(seconds.toFixed(1)),
    ariCellLineOnSinglets: Number(adjustedRandIndex(labelled.map((i) => cellbench.truth[i]), labelled.map((i) => clusters[i])).toFixed(4)),
  };
  console.error(JSON.stringify(report.quality));
  save();
}

const pbmc = loadInputs(join(inputsDir, 'pbmc3k'));
const throughput: Array<Record<string, unknown>> = [];
report.throughput = throughput;
let cellsPerSecond: number | undefined;
for (const size of only === 'quality' ? [] : sizes) {
  const left = budgetSeconds - (performance.now() - started) / 1000;
  if (cellsPerSecond !== undefined && (2 * size) / cellsPerSecond > left) {
    throughput.push({ cells: size, skipped: `one epoch at ${Math.round(cellsPerSecond)} cells/s would take ~${Math.round(size / cellsPerSecond)} s, ${Math.round(left)} s of the budget left` });
    continue;
  }
  const inputs = sampleInputs(pbmc, size, mulberry32(size));
  // One epoch, no validation split and no placement: the time is the training steps'.
  const { model, training, config } = await fit(inputs, { ...pbmc.params, epochs: 1, component_init_epochs: 0 }, (c) => ({ ...c, training: { ...c.training, validationFraction: 0 } }));
  model.dispose();
  const epochSeconds = training.history[0].seconds;
  cellsPerSecond = size / epochSeconds;
  throughput.push({ cells: size, features: inputs.x.nCols, batchSize: config.training.batchSize, epochSeconds: Number(epochSeconds.toFixed(1)), cellsPerSecond: Math.round(cellsPerSecond), tensors: tf.memory().numTensors });
  console.error(JSON.stringify(throughput.at(-1)));
  save();
}
report.peakRssMB = process.resourceUsage().maxRSS / 1024;
report.seconds = Number(((performance.now() - started) / 1000).toFixed(1));
save();
