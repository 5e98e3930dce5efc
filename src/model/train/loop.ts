/**
 * The epoch loop: AdamW over shuffled mini-batches (labelled and unlabelled alternating in
 * semi-supervised mode), with, after each epoch and in this order, the NaN guard, the component
 * placement, component revival, a checkpoint, the validation loss and early stopping.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../random.js';
import type { TrainingConfig } from '../config.js';
import { epochBatches, type PreparedData } from '../data.js';
import { TERM_NAMES, type CgmvaeModule } from '../module.js';
import { AdamW } from '../optimizer.js';
import { EarlyStopping } from './early-stopping.js';
import { NanGuard } from './nan-guard.js';
import { PlacementSchedule } from './placement.js';
import { ComponentRevival } from './revive.js';
import { learningRate } from './schedule.js';
import { evaluateLoss, toTermValues, trainStep, type TermValues } from './step.js';

export interface EpochReport {
  readonly epoch: number;
  readonly learningRate: number;
  readonly train: TermValues;
  readonly validation: TermValues | null;
  /** Share of the epoch's cells whose most probable component is k. */
  readonly clusterUsage: number[];
  /** Components re-seeded after this epoch (unsupervised, first 80 % of training). */
  readonly revived: number[];
  readonly seconds: number;
  readonly steps: number;
}

export interface TrainCallbacks {
  readonly signal?: AbortSignal;
  readonly onEpoch?: (report: EpochReport) => void | Promise<void>;
  readonly log?: (message: string) => void;
}

export interface TrainingResult {
  readonly history: EpochReport[];
  readonly stoppedEarly: boolean;
  /** Epoch whose weights were kept (best validation loss, or the last epoch). */
  readonly bestEpoch: number;
  readonly nanRollbacks: number;
  readonly seconds: number;
}

/** Cells per batch when computing the validation loss. */
const VALIDATION_BATCH = 512;

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('training aborted', 'AbortError');
}

/** Trains `module` on `data`; the module keeps the best (or last) weights. */
export async function train(module: CgmvaeModule, data: PreparedData, config: TrainingConfig, callbacks: TrainCallbacks = {}): Promise<TrainingResult> {
  const started = performance.now();
  const { signal, onEpoch } = callbacks;
  const log = (message: string) => callbacks.log?.(message);
  const rng = new Rng(config.seed ^ 0x5bd1e995);
  const order = rng.shuffle(Int32Array.from({ length: data.nCells }, (_, i) => i));
  const nVal = config.validationFraction > 0 ? Math.min(data.nCells - 1, Math.round(data.nCells * config.validationFraction)) : 0;
  const valRows = order.slice(0, nVal);
  const trainRows = order.slice(nVal);
  const labelled = data.labelCodes ? trainRows.filter((r) => data.labelCodes![r] >= 0) : new Int32Array(0);
  const unlabelled = data.labelCodes ? trainRows.filter((r) => data.labelCodes![r] < 0) : trainRows;
  const unsupervised = !data.labelCodes;

  const trainable = [...module.params.trainable.values()];
  const optimizer = new AdamW(trainable, module.params.kernels(), { weightDecay: config.weightDecay });
  // Every variable a snapshot restores; read at each snapshot, since a placement may rebuild the component heads.
  const snapshotVars = () => [...module.params.all().values(), ...optimizer.stateVariables()];
  const nanGuard = new NanGuard(snapshotVars, optimizer, config.maxNanRetries);
  const earlyStopping = new EarlyStopping(snapshotVars, optimizer, config.patience, config.minDelta);
  const placement = new PlacementSchedule(config, unsupervised);
  const revival = new ComponentRevival(config.reviveComponents && unsupervised, config.epochs);

  const history: EpochReport[] = [];
  let stoppedEarly = false;
  try {
    for (let epoch = 0; epoch < config.epochs; ) {
      const epochStart = performance.now();
      const lr = learningRate(config.schedule, epoch, config.epochs) * nanGuard.lrScale;
      const anchored = placement.anchoredData;
      const epochData = anchored ?? data;
      const batches = anchored ? epochBatches(rng, trainRows, new Int32Array(0), config.batchSize) : epochBatches(rng, labelled, unlabelled, config.batchSize);
      let accumulated: tf.Tensor1D = tf.zeros([TERM_NAMES.length + module.config.nClusters]);
      let cells = 0;
      for (const rows of batches) {
        if (signal?.aborted) {
          accumulated.dispose();
          throw abortError(signal);
        }
        const sums = trainStep(module, optimizer, epochData, rows, rng.int(), lr);
        const next = tf.add(accumulated, sums) as tf.Tensor1D;
        tf.dispose([accumulated, sums]);
        accumulated = next;
        cells += rows.length;
        // Let abort events and other callbacks run between steps.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const epochSums = await accumulated.data();
      accumulated.dispose();
      const train = toTermValues(epochSums, cells);

      if (!Number.isFinite(train.total)) {
        log(nanGuard.rollback(epoch, lr));
        continue;
      }
      const placed = placement.afterEpoch(epoch, module, optimizer, data, trainRows, rng, signal);
      if (placed) {
        log(placed);
        earlyStopping.reset();
      }
      const usage = Array.from(epochSums.subarray(TERM_NAMES.length), (v) => v / cells);
      // A community placement's components are groups of the data, small ones included: revival, k-means' re-seeding of an empty cluster, waits out its epoch and anchor.
      const revived = (placed || anchored) && placement.placesOnCommunities ? [] : revival.afterEpoch(epoch, module, usage, rng);
      if (revived.length) log(`epoch ${epoch}: re-seeded unused components ${revived.join(', ')}`);
      nanGuard.checkpoint();

      const validation = nVal > 0 ? evaluateLoss(module, data, valRows, Math.max(config.batchSize, VALIDATION_BATCH), config.seed) : null;
      const report: EpochReport = { epoch, learningRate: lr, train, validation, clusterUsage: usage, revived, seconds: (performance.now() - epochStart) / 1000, steps: batches.length };
      history.push(report);
      stoppedEarly = validation !== null && earlyStopping.observe(epoch, validation.total);
      await onEpoch?.(report);
      if (stoppedEarly) break;
      epoch++;
    }
    earlyStopping.restoreBest();
  } finally {
    nanGuard.dispose();
    earlyStopping.dispose();
    optimizer.dispose();
  }
  return {
    history,
    stoppedEarly,
    bestEpoch: earlyStopping.bestEpoch ?? history.length - 1,
    nanRollbacks: nanGuard.rollbacks,
    seconds: (performance.now() - started) / 1000,
  };
}
