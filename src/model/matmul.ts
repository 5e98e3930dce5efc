/**
 * The matrix product's kernel and gradient. On the wasm backend the products run on OpenBLAS where it is
 * installed, called through the koffi FFI: tfjs keeps its tensors in the wasm heap, and cblas_sgemm reads and
 * writes them there, so nothing is copied. Without an OpenBLAS library the wasm backend keeps its own kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';

/** C = op(A) op(B), row-major, single precision: cblas_sgemm's arguments the model uses. */
export type Sgemm = (
  transposeA: boolean,
  transposeB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  c: Float32Array,
  ldc: number,
) => void;

export interface NativeBlas {
  readonly sgemm: Sgemm;
  /** The library file that answered. */
  readonly library: string;
  readonly threads: number;
}

/** Where Debian's and most distributions' OpenBLAS builds live; SCGMDVAE_OPENBLAS names another file. */
const OPENBLAS_CANDIDATES = [
  'libopenblas.so.0',
  '/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0',
  '/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0',
  'libopenblas.so',
];
const CBLAS_ROW_MAJOR = 101;
const CBLAS_NO_TRANS = 111;
const CBLAS_TRANS = 112;

interface Koffi {
  load(path: string): { func(signature: string): (...args: unknown[]) => unknown };
}

/**
 * Opens OpenBLAS, or says why not. `threads` defaults to OPENBLAS_NUM_THREADS, else every core: the wasm backend
 * runs its other kernels on one thread, so the products are where a second core can help.
 */
export async function loadNativeBlas(options: { library?: string; threads?: number } = {}): Promise<NativeBlas> {
  let koffi: Koffi;
  try {
    koffi = ((await import('koffi')) as unknown as { default: Koffi }).default;
  } catch (err) {
    throw new Error(`the optional package koffi is not installed (${(err as Error).message})`);
  }
  const candidates = options.library ? [options.library] : process.env.SCGMDVAE_OPENBLAS ? [process.env.SCGMDVAE_OPENBLAS] : OPENBLAS_CANDIDATES;
  const failures: string[] = [];
  for (const library of candidates) {
    let lib: ReturnType<Koffi['load']>;
    try {
      lib = koffi.load(library);
    } catch (err) {
      failures.push(`${library}: ${(err as Error).message}`);
      continue;
    }
    const gemm = lib.func('void cblas_sgemm(int, int, int, int, int, int, float, float *, int, float *, int, float, float *, int)');
    const setThreads = lib.func('void openblas_set_num_threads(int)');
    const threads = options.threads ?? (Number(process.env.OPENBLAS_NUM_THREADS) || availableParallelism());
    setThreads(threads);
    const sgemm: Sgemm = (ta, tb, m, n, k, a, lda, b, ldb, c, ldc) =>
      void gemm(CBLAS_ROW_MAJOR, ta ? CBLAS_TRANS : CBLAS_NO_TRANS, tb ? CBLAS_TRANS : CBLAS_NO_TRANS, m, n, k, 1, a, lda, b, ldb, 0, c, ldc);
    return { sgemm, library, threads };
  }
  throw new Error(`no OpenBLAS library could be opened (${failures.join('; ')})`);
}

let active: NativeBlas | undefined;

/** The BLAS the wasm backend's products run on, if one was registered. */
export function activeNativeBlas(): NativeBlas | undefined {
  return active;
}

interface WasmBackendLike {
  readonly wasm: { readonly HEAPU8: Uint8Array };
  readonly dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

/** A float32 view of a tensor's values in the wasm heap (valid until the heap next grows). */
function heapView(backend: WasmBackendLike, t: tf.TensorInfo): Float32Array {
  return new Float32Array(backend.wasm.HEAPU8.buffer, backend.dataIdMap.get(t.dataId).memoryOffset, tf.util.sizeFromShape(t.shape));
}

/**
 * Replaces the wasm backend's BatchMatMul with one sgemm per batch item (operands broadcast over the leading
 * axes as tf.matMul's are), and its gradient with the transpose-flag form, which sgemm takes for free.
 */
export function registerNativeMatMul(blas: NativeBlas): void {
  active = blas;
  tf.unregisterKernel(tf.BatchMatMul, 'wasm');
  tf.registerKernel({
    kernelName: tf.BatchMatMul,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { a, b } = inputs as unknown as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new Error('BatchMatMul: only float32 operands');
      const wasm = backend as unknown as WasmBackendLike;
      const ra = a.shape.length;
      const rb = b.shape.length;
      const [aRows, aCols] = [a.shape[ra - 2]!, a.shape[ra - 1]!];
      const [bRows, bCols] = [b.shape[rb - 2]!, b.shape[rb - 1]!];
      const m = transposeA ? aCols : aRows;
      const k = transposeA ? aRows : aCols;
      const n = transposeB ? bRows : bCols;
      if ((transposeB ? bCols : bRows) !== k) throw new Error(`matMul: inner shapes ${k} and ${transposeB ? bCols : bRows} of [${a.shape}] and [${b.shape}] differ`);
      const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
      const out = wasm.makeOutput([...outer, m, n], 'float32');
      // Views only after makeOutput: its allocation may grow the heap and detach earlier ones.
      const [av, bv, cv] = [heapView(wasm, a), heapView(wasm, b), heapView(wasm, out)];
      const batches = tf.util.sizeFromShape(outer);
      const aBatches = av.length / (aRows * aCols);
      const bBatches = bv.length / (bRows * bCols);
      for (let i = 0; i < batches; i++) {
        const ai = aBatches === 1 ? 0 : i;
        const bi = bBatches === 1 ? 0 : i;
        blas.sgemm(
          transposeA,
          transposeB,
          m,
          n,
          k,
          batches === 1 ? av : av.subarray(ai * aRows * aCols, (ai + 1) * aRows * aCols),
          aCols,
          batches === 1 ? bv : bv.subarray(bi * bRows * bCols, (bi + 1) * bRows * bCols),
          bCols,
          batches === 1 ? cv : cv.subarray(i * m * n, (i + 1) * m * n),
          n,
        );
      }
      return out;
    },
  });
  registerMatMulGradient(true);
}

/** Swap the two innermost axes (explicit transpose, as a separate kernel). */
function transposeInner(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return tf.transpose(t, perm);
}

/**
 * BatchMatMul's gradient. The stock one multiplies with transpose flags, which the wasm kernel runs 10-18x slower
 * than a plain product, so without a native BLAS the operands are transposed explicitly first (docs/decisions.md);
 * sgemm takes the flags for free.
 */
export function registerMatMulGradient(transposeFlagsFree = false): void {
  const mm = (a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): tf.Tensor =>
    transposeFlagsFree ? tf.matMul(a, b, ta, tb) : tf.matMul(ta ? transposeInner(a) : a, tb ? transposeInner(b) : b);
  tf.registerGradient({
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved;
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const g = dy as tf.Tensor;
      if (!transposeA && !transposeB) return { a: () => mm(g, b, false, true), b: () => mm(a, g, true, false) };
      if (!transposeA && transposeB) return { a: () => mm(g, b, false, false), b: () => mm(g, a, true, false) };
      if (transposeA && !transposeB) return { a: () => mm(b, g, false, true), b: () => mm(a, g, false, false) };
      return { a: () => mm(b, g, true, true), b: () => mm(g, a, true, true) };
    },
  });
}
