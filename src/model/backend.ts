/**
 * Picks the tfjs backend once per process: tensorflow (tfjs-node-gpu / tfjs-node), webgpu (Dawn via the
 * `webgpu` package), wasm, cpu — in that order unless forced by option or SCGMDVAE_BACKEND.
 */
import * as tf from '@tensorflow/tfjs';
import { loadNativeBlas, registerMatMulGradient, registerNativeMatMul } from './matmul.js';

export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

export interface BackendChoice {
  readonly name: BackendName;
  /** Why each earlier candidate was skipped. */
  readonly skipped: { name: BackendName; reason: string }[];
  /** What the backend said of itself when it started (wasm: where its matrix products run). */
  readonly note?: string;
}

export interface PickBackendOptions {
  /** Force one backend; otherwise SCGMDVAE_BACKEND, otherwise the first that works in BACKEND_ORDER. */
  readonly force?: BackendName;
  readonly log?: (message: string) => void;
}

/** The WebGPU adapter facts the picker needs (a subset of GPUAdapter, absent members tolerated). */
export interface AdapterLike {
  readonly isFallbackAdapter?: boolean;
  readonly info?: { readonly isFallbackAdapter?: boolean; readonly vendor?: string; readonly description?: string };
}

let chosen: Promise<BackendChoice> | undefined;

/** Initialise a backend once; later calls return the first choice (tfjs state is process-global). */
export function pickBackend(options: PickBackendOptions = {}): Promise<BackendChoice> {
  chosen ??= choose(options);
  return chosen;
}

export function parseBackendName(value: string | undefined): BackendName | undefined {
  if (value === undefined || value === '') return undefined;
  if ((BACKEND_ORDER as readonly string[]).includes(value)) return value as BackendName;
  throw new Error(`unknown backend '${value}': expected one of ${BACKEND_ORDER.join(', ')}`);
}

/** A software (fallback) adapter is slower than wasm on a CPU-only machine, so it does not count. */
export function isUsableAdapter(adapter: AdapterLike | null | undefined): boolean {
  if (!adapter) return false;
  return !(adapter.isFallbackAdapter ?? adapter.info?.isFallbackAdapter ?? false);
}

async function choose(options: PickBackendOptions): Promise<BackendChoice> {
  const log = options.log ?? ((m: string) => console.error(m));
  const forced = options.force ?? parseBackendName(process.env.SCGMDVAE_BACKEND);
  const candidates = forced ? [forced] : BACKEND_ORDER;
  const skipped: { name: BackendName; reason: string }[] = [];
  for (const name of candidates) {
    try {
      const note = (await INITIALISERS[name]()) ?? undefined;
      log(`scgmdvae: tfjs backend '${name}'${forced ? ' (forced)' : ''}${note ? `; ${note}` : ''}`);
      return { name, skipped, ...(note ? { note } : {}) };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      skipped.push({ name, reason });
      if (forced) throw new Error(`backend '${name}' was forced but cannot start: ${reason}`);
    }
  }
  throw new Error(`no tfjs backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

async function activate(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') returned false`);
  await tf.ready();
}

/** Import an optional package by a computed name so that TypeScript does not need its types. */
async function importOptional(specifier: string): Promise<unknown> {
  return import(specifier);
}

/** Each starts its backend and may say something of it. */
const INITIALISERS: Record<BackendName, () => Promise<string | void>> = {
  async tensorflow() {
    let lastError: unknown;
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        await importOptional(pkg);
        await activate('tensorflow');
        return;
      } catch (err) {
        lastError = err;
      }
    }
    throw new Error(`neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is usable (${String((lastError as Error)?.message ?? lastError)})`);
  },
  async webgpu() {
    const dawn = (await importOptional('webgpu')) as { create: (flags: string[]) => unknown; globals: Record<string, unknown> };
    const gpu = dawn.create([]) as { requestAdapter: () => Promise<AdapterLike | null> };
    const adapter = await gpu.requestAdapter();
    if (!isUsableAdapter(adapter)) throw new Error(adapter ? 'only a fallback (software) WebGPU adapter' : 'no WebGPU adapter');
    // tfjs-backend-webgpu reads navigator.gpu when it registers, so it must exist before the import.
    Object.assign(globalThis, dawn.globals);
    const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: unknown };
    if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
    await import('@tensorflow/tfjs-backend-webgpu');
    await activate('webgpu');
  },
  async wasm() {
    await import('@tensorflow/tfjs-backend-wasm');
    await activate('wasm');
    if (process.env.SCGMDVAE_NATIVE_BLAS === '0') return registerMatMulGradient();
    try {
      const blas = await loadNativeBlas();
      registerNativeMatMul(blas);
      return `matrix products on OpenBLAS (${blas.library}, ${blas.threads} threads)`;
    } catch (err) {
      registerMatMulGradient();
      return `matrix products in wasm: ${(err as Error).message}`;
    }
  },
  async cpu() {
    await activate('cpu');
  },
};
