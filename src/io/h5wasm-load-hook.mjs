// Module-loader hook: hands h5wasm's 4 MB Emscripten module to Node untouched, because tsx's
// loader would otherwise rewrite its dynamic imports on every start, which takes seconds (docs/decisions.md).
// Plain JavaScript since it runs in the loader thread before any TypeScript support.
import { readFile } from 'node:fs/promises';

export async function load(url, context, nextLoad) {
  if (url.endsWith('/h5wasm/dist/node/hdf5_util.js')) {
    return { format: 'module', source: await readFile(new URL(url)), shortCircuit: true };
  }
  return nextLoad(url, context);
}
