/**
 * The user-facing model: fit, predict (clusters, latents), reconstruct, flip conditions, sample from
 * the prior, save/load, and gene alignment for new datasets.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectColumns } from '../io/sparse.js';
import { Rng } from '../random.js';
import { median } from '../stats.js';
import { checkTrainingConfig, type FitConfig, type ModuleConfig } from './config.js';
import { conditionMeans, conditionOneHot, disposeBatch, EVAL_BATCH, makeBatch, mapRowBatches, rowSums, splitBatches, type ModelInputs, type PreparedData } from './data.js';
import { EVAL_CONTEXT as EVAL } from './layers.js';
import { CgmvaeModule, reparameterise, seededNormal } from './module.js';
import { train, type EpochReport, type TrainCallbacks, type TrainingResult } from './train/loop.js';

export const MODEL_FORMAT = 'scgmdvae-model';
/** 2: the config's names follow the product's parameters (nClusters, latentDim, wDim). */
export const MODEL_FORMAT_VERSION = 2;

export interface ConditionMeta {
  readonly name: string;
  readonly categories: readonly string[];
}

/** What the saved JSON holds besides the module's config and weights. */
export interface ModelMeta {
  readonly geneNames: readonly string[] | null;
  readonly conditions: readonly ConditionMeta[];
  /** Label names when trained with labels (component k = label k), else null. */
  readonly labelNames: readonly string[] | null;
  /** Median library size of the training cells (nb sampling). */
  readonly libraryMedian: number;
  /** When the encoder centres by condition: per condition, each category's mean input ([categories x nInput], row-major); else null. */
  readonly conditionOffsets: readonly (readonly number[])[] | null;
}

export interface GeneAlignment {
  /** For each model gene, its column in the new data, or −1 (zero-filled). */
  readonly columns: Int32Array;
  /** Model genes absent from the new data. */
  readonly missing: string[];
  /** New-data genes the model does not use. */
  readonly unused: number;
}

export interface Prediction {
  readonly nCells: number;
  readonly nClusters: number;
  /** q(y | μ_z, c), row-major [nCells x K]. */
  readonly probabilities: Float32Array;
  /** argmax component per cell. */
  readonly clusters: Int32Array;
  /** Label name per cluster index, when trained with labels. */
  readonly labelNames: readonly string[] | null;
  /** μ_z [nCells x nz] and μ_w [nCells x nw]. */
  readonly muZ: Float32Array;
  readonly muW: Float32Array;
  readonly alignment: GeneAlignment | null;
  /** Condition categories the model was not trained on, per covariate (those cells get an all-zero one-hot). */
  readonly unknownCategories: Record<string, string[]>;
}

export interface FitResult {
  readonly model: CgmvaeModel;
  readonly training: TrainingResult;
}

export class CgmvaeModel {
  private readonly conditionOffsets: Float32Array[] | null;

  constructor(readonly module: CgmvaeModule, readonly meta: ModelMeta) {
    this.conditionOffsets = meta.conditionOffsets && meta.conditionOffsets.map((offsets) => Float32Array.from(offsets));
  }

  /** The networks' config; its nClusters is the number of components training settled on. */
  get config(): ModuleConfig {
    return this.module.config;
  }

  /** Map new gene names onto the model's genes. */
  alignGenes(geneNames: readonly string[]): GeneAlignment {
    if (!this.meta.geneNames) throw new Error('the model was trained without gene names, so it cannot align genes');
    const position = new Map(geneNames.map((g, i) => [g, i]));
    const columns = Int32Array.from(this.meta.geneNames, (g) => position.get(g) ?? -1);
    const missing = this.meta.geneNames.filter((_, i) => columns[i] < 0);
    return { columns, missing, unused: geneNames.length - (this.meta.geneNames.length - missing.length) };
  }

  /** Inputs in the model's gene order and category codes, ready for batching. */
  prepare(inputs: ModelInputs): { data: PreparedData; alignment: GeneAlignment | null; unknownCategories: Record<string, string[]> } {
    let x = inputs.x;
    let alignment: GeneAlignment | null = null;
    const names = inputs.geneNames;
    if (names && this.meta.geneNames && !sameNames(names, this.meta.geneNames)) {
      alignment = this.alignGenes(names);
      x = selectColumns(x, alignment.columns);
    }
    if (x.nCols !== this.config.nInput) throw new Error(`expected ${this.config.nInput} features, got ${x.nCols} (pass geneNames to align)`);
    const unknownCategories: Record<string, string[]> = {};
    const conditionCodes = this.meta.conditions.map((meta) => {
      const given = inputs.conditions?.find((c) => c.name === meta.name);
      if (!given) return new Int32Array(x.nRows).fill(-1);
      const remap = given.categories.map((cat) => meta.categories.indexOf(cat));
      const unknown = given.categories.filter((_, i) => remap[i] < 0);
      if (unknown.length) unknownCategories[meta.name] = unknown;
      return Int32Array.from(given.codes, (code) => (code >= 0 ? remap[code] : -1));
    });
    let labelCodes: Int32Array | null = null;
    if (inputs.labels && this.meta.labelNames) {
      const remap = inputs.labels.categories.map((cat) => this.meta.labelNames!.indexOf(cat));
      labelCodes = Int32Array.from(inputs.labels.codes, (code) => (code >= 0 ? remap[code] : -1));
    }
    const libSize = this.config.likelihood === 'nb' ? (inputs.libSize ?? rowSums(inputs.x)) : null;
    const data: PreparedData = {
      x,
      nCells: x.nRows,
      conditionCodes,
      conditionSizes: this.config.conditionSizes,
      labelCodes,
      nClusters: this.config.nClusters,
      libSize,
      conditionOffsets: this.conditionOffsets,
    };
    return { data, alignment, unknownCategories };
  }

  predict(inputs: ModelInputs): Prediction {
    const { data, alignment, unknownCategories } = this.prepare(inputs);
    const { nClusters: k, latentDim: nz, wDim: nw } = this.config;
    const joined = mapRowBatches(data, Int32Array.from({ length: data.nCells }, (_, i) => i), k + nz + nw, (batch) => {
      const enc = this.module.encode(batch, EVAL);
      const probs = tf.softmax(this.module.clusterLogits(enc.muZ, batch.c, EVAL));
      return tf.concat([probs, enc.muZ, enc.muW], 1);
    });
    const n = data.nCells;
    const probabilities = new Float32Array(n * k);
    const muZ = new Float32Array(n * nz);
    const muW = new Float32Array(n * nw);
    const clusters = new Int32Array(n);
    const width = k + nz + nw;
    for (let i = 0; i < n; i++) {
      const row = joined.subarray(i * width, (i + 1) * width);
      probabilities.set(row.subarray(0, k), i * k);
      muZ.set(row.subarray(k, k + nz), i * nz);
      muW.set(row.subarray(k + nz), i * nw);
      let arg = 0;
      for (let j = 1; j < k; j++) if (row[j] > row[arg]) arg = j;
      clusters[i] = arg;
    }
    return { nCells: n, nClusters: k, probabilities, clusters, labelNames: this.meta.labelNames, muZ, muW, alignment, unknownCategories };
  }

  /** Decoder mean at μ_z, with the cells' own conditions, [nCells x nInput]. */
  reconstruct(inputs: ModelInputs): Float32Array {
    return this.decodeAtMean(this.prepare(inputs).data);
  }

  /**
   * Counterfactual expression: encode with each cell's true condition, decode with `category` of
   * covariate `covariate` (the other covariates unchanged).
   */
  flip(inputs: ModelInputs, covariate: string, category: string): Float32Array {
    const { data } = this.prepare(inputs);
    const j = this.meta.conditions.findIndex((c) => c.name === covariate);
    if (j < 0) throw new Error(`unknown condition '${covariate}'; the model has ${this.meta.conditions.map((c) => c.name).join(', ') || 'none'}`);
    const code = this.meta.conditions[j].categories.indexOf(category);
    if (code < 0) throw new Error(`unknown category '${category}' of '${covariate}'`);
    const decodeCodes = data.conditionCodes.map((codes, i) => (i === j ? new Int32Array(codes.length).fill(code) : codes));
    return this.decodeAtMean(data, { ...data, conditionCodes: decodeCodes });
  }

  private decodeAtMean(encodeData: PreparedData, decodeData: PreparedData = encodeData): Float32Array {
    const out = new Float32Array(encodeData.nCells * this.config.nInput);
    const all = Int32Array.from({ length: encodeData.nCells }, (_, i) => i);
    for (const rows of splitBatches(all, EVAL_BATCH)) {
      const enc = makeBatch(encodeData, rows, false);
      const dec = decodeData === encodeData ? enc : makeBatch(decodeData, rows, false);
      out.set(readTensor(tf.tidy(() => this.module.decodeMean(this.module.encode(enc, EVAL).muZ, dec.c, EVAL, enc.libSize))), rows[0] * this.config.nInput);
      disposeBatch(enc);
      if (dec !== enc) disposeBatch(dec);
    }
    return out;
  }

  /**
   * Draw from the generative model: w ~ p(w|c), z ~ p(z|w,y=k,c), x = E p(x|z,c), `perComponent` cells
   * for each component k, under the given condition categories (missing covariates: zero one-hot).
   */
  sample(perComponent: number, options: { conditions?: Record<string, string>; seed?: number; libSize?: number } = {}): { x: Float32Array; z: Float32Array; components: Int32Array } {
    const { nClusters: k, wDim: nw } = this.config;
    const n = perComponent * k;
    const components = Int32Array.from({ length: n }, (_, i) => Math.floor(i / perComponent));
    const conditionCodes = this.meta.conditions.map((meta) => {
      const cat = options.conditions?.[meta.name];
      const code = cat === undefined ? -1 : meta.categories.indexOf(cat);
      if (cat !== undefined && code < 0) throw new Error(`unknown category '${cat}' of '${meta.name}'`);
      return new Int32Array(n).fill(code);
    });
    const seed = options.seed ?? 0;
    const [x, z] = tf.tidy(() => {
      const c = conditionOneHot({ conditionCodes, conditionSizes: this.config.conditionSizes }, components.map((_, i) => i));
      const lib = tf.fill([n], options.libSize ?? this.meta.libraryMedian) as tf.Tensor1D;
      const wp = this.module.wPrior(c, EVAL);
      const w = wp ? reparameterise(wp.mu, wp.logvar, seed) : seededNormal([n, nw], seed);
      const prior = this.module.componentPriors(w, c, EVAL);
      const pick = tf.oneHot(tf.tensor1d(components, 'int32'), k).expandDims(2); // [n, K, 1]
      const mu = tf.sum(tf.mul(prior.mu, pick), 1) as tf.Tensor2D;
      const logvar = tf.sum(tf.mul(prior.logvar, pick), 1) as tf.Tensor2D;
      const zs = reparameterise(mu, logvar, (seed + 1) >>> 0);
      return [this.module.decodeMean(zs, c, EVAL, lib), zs];
    });
    return { x: readTensor(x), z: readTensor(z), components };
  }

  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const named = Object.fromEntries([...this.module.params.all()].map(([key, v]) => [key, v as tf.Tensor]));
    const { data, specs } = await tf.io.encodeWeights(named);
    const json = { format: MODEL_FORMAT, version: MODEL_FORMAT_VERSION, config: this.config, ...this.meta, weightsManifest: [{ paths: ['weights.bin'], weights: specs }] };
    await writeFile(join(dir, 'weights.bin'), new Uint8Array(data));
    await writeFile(join(dir, 'model.json'), JSON.stringify(json, null, 1));
  }

  static async load(dir: string): Promise<CgmvaeModel> {
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    if (json.format !== MODEL_FORMAT || json.version !== MODEL_FORMAT_VERSION) throw new Error(`${dir} is not a ${MODEL_FORMAT} v${MODEL_FORMAT_VERSION} model`);
    const bin = await readFile(join(dir, json.weightsManifest[0].paths[0]));
    const weights = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), json.weightsManifest[0].weights);
    const meta: ModelMeta = { geneNames: json.geneNames, conditions: json.conditions, labelNames: json.labelNames, libraryMedian: json.libraryMedian, conditionOffsets: json.conditionOffsets };
    const module = new CgmvaeModule(json.config, 0);
    try {
      for (const [key, v] of module.params.all()) {
        const w = weights[key];
        if (!w) throw new Error(`saved model lacks weight '${key}'`);
        v.assign(w);
      }
    } catch (error) {
      module.dispose();
      throw error;
    } finally {
      tf.dispose(Object.values(weights));
    }
    return new CgmvaeModel(module, meta);
  }

  dispose(): void {
    this.module.dispose();
  }
}

/** The values of a float tensor, which is then disposed. */
function readTensor(t: tf.Tensor): Float32Array {
  const values = t.dataSync() as Float32Array;
  t.dispose();
  return values;
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((g, i) => g === b[i]);
}

export interface FitCallbacks extends Omit<TrainCallbacks, 'onEpoch'> {
  /** After each epoch, with the model being trained (predict on it to follow progress). */
  readonly onEpoch?: (report: EpochReport, model: CgmvaeModel) => void | Promise<void>;
}

/** The training cells' condition means of the encoder's input, as the model keeps them. */
function trainingConditionOffsets(inputs: ModelInputs, likelihood: ModuleConfig['likelihood']): number[][] {
  const conditions = inputs.conditions ?? [];
  const libSize = likelihood === 'nb' ? (inputs.libSize ?? rowSums(inputs.x)) : null;
  return conditionMeans(inputs.x, conditions.map((c) => c.codes), conditions.map((c) => c.categories.length), libSize).map((offsets) => Array.from(offsets));
}

/** Train a model on `inputs`. Labels with some −1 codes select semi-supervised mode, all present supervised. */
export async function fitModel(inputs: ModelInputs, config: FitConfig, callbacks: FitCallbacks = {}): Promise<FitResult> {
  const { network, training } = config;
  const conditions = (inputs.conditions ?? []).map((cond) => ({ name: cond.name, categories: [...cond.categories] }));
  const labelNames = inputs.labels ? [...inputs.labels.categories] : null;
  if (labelNames && labelNames.length !== network.nClusters) throw new Error(`labels have ${labelNames.length} categories but nClusters is ${network.nClusters}`);
  checkTrainingConfig(training);
  const moduleConfig: ModuleConfig = { ...network, nInput: inputs.x.nCols, conditionSizes: conditions.map((cond) => cond.categories.length) };
  // nb decodes samples at the median library size; a model without cells keeps 1.
  const libraryMedian = network.likelihood === 'nb' && inputs.x.nRows > 0 ? median(inputs.libSize ?? rowSums(inputs.x)) : 1;
  const conditionOffsets = network.centerByCondition && conditions.length > 0 ? trainingConditionOffsets(inputs, network.likelihood) : null;
  const module = new CgmvaeModule(moduleConfig, new Rng(training.seed).int());
  const model = new CgmvaeModel(module, { geneNames: inputs.geneNames ? [...inputs.geneNames] : null, conditions, labelNames, libraryMedian, conditionOffsets });
  try {
    const { onEpoch } = callbacks;
    const result = await train(module, model.prepare(inputs).data, training, { ...callbacks, onEpoch: onEpoch && ((r) => onEpoch(r, model)) });
    return { model, training: result };
  } catch (err) {
    model.dispose();
    throw err;
  }
}
