/** Speed figures for bench/model.ts item 5, measured on whichever backend this process picked. */
import * as tf from '@tensorflow/tfjs';
import { fitModel, type FitConfig } from '../src/model/index.js';
import { activeNativeBlas, registerMatMulGradient } from '../src/model/matmul.js';
import { fitConfig, resolveParams, settleParams } from '../src/pipeline/params.js';
import { Rng } from '../src/random.js';

export interface SpeedFigures {
  readonly backend: string;
  readonly cells: number;
  readonly genes: number;
  readonly config: FitConfig;
  readonly secondsPerEpoch: number;
  readonly cellsPerSecond: number;
  /** wasm only: the same epoch with tfjs' stock matMul gradient (transpose flags). */
  readonly stockGradientSecondsPerEpoch?: number;
}

/** 10,000 cells x 2,000 genes of sparse log-normal-like values (~10 % non-zero), seeded. */
export function syntheticExpression(seed: number, cells = 10_000, genes = 2_000): { nRows: number; nCols: number; data: Float32Array } {
  const rng = new Rng(seed);
  const data = new Float32Array(cells * genes);
  for (let i = 0; i < data.length; i++) if (rng.uniform() < 0.1) data[i] = Math.log1p(Math.exp(rng.normal()));
  return { nRows: cells, nCols: genes, data };
}

/**
 * One epoch of the product's default model (no validation split, no placement) on the synthetic matrix, at the
 * default batch size or `batchSize`; on wasm with `compareStockGradient`, a second epoch with the stock gradient,
 * after which the product's gradient is registered again so later measurements run the product's kernels.
 */
export async function speedOnCurrentBackend(seed: number, batchSize?: number, compareStockGradient = false): Promise<SpeedFigures> {
  const x = syntheticExpression(seed);
  const given = { epochs: 1, component_init_epochs: 0, schedule: 'constant', seed, ...(batchSize ? { batch_size: batchSize } : {}) };
  const base = fitConfig(settleParams(resolveParams(given), x.nRows, 'lognorm'), 10);
  const config: FitConfig = { network: base.network, training: { ...base.training, validationFraction: 0 } };
  const epoch = async () => {
    const { model, training } = await fitModel({ x }, config);
    model.dispose();
    return training.history[0]!.seconds;
  };
  const seconds = await epoch();
  const backend = tf.getBackend();
  let stock: number | undefined;
  if (backend === 'wasm' && compareStockGradient && !activeNativeBlas()) {
    registerMatMulGradient(true);
    stock = await epoch();
    registerMatMulGradient();
  }
  return {
    backend,
    cells: x.nRows,
    genes: x.nCols,
    config,
    secondsPerEpoch: Number(seconds.toFixed(2)),
    cellsPerSecond: Math.round(x.nRows / seconds),
    ...(stock !== undefined ? { stockGradientSecondsPerEpoch: Number(stock.toFixed(2)) } : {}),
  };
}
