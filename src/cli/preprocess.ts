/**
 * `preprocess FILE --out DIR [--params FILE] [--KEY VALUE ...]`: QC, normalisation and highly variable
 * genes only, with the pipeline's parameters and defaults, in passes over the matrix's blocks of rows (a
 * million cells in bounded memory); writes DIR/qc_cells.csv and DIR/hvg.csv and prints the summary as one JSON line.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheAt } from '../io/block-cache.js';
import { withDatasetBlocks } from '../io/index.js';
import { PREPROCESS_KEYS, preprocessOptions, readOptions, resolveParams } from '../pipeline/params.js';
import { hvgCsv, preprocessHighlyVariable, qcCellsCsv, type DatasetInBlocks, type HighlyVariableResult } from '../preprocess/index.js';
import { commandParams, splitCommandWords, UsageError } from './args.js';

export const usage = `preprocess FILE --out DIR [--params params.json] [--KEY VALUE ...]   (keys: ${PREPROCESS_KEYS.join(', ')})`;

/** Runs the recipe on `dataset`'s blocks and writes `outDir/qc_cells.csv` (every input cell's metrics and whether it was kept) and `outDir/hvg.csv`. */
export async function writePreprocessTables(dataset: DatasetInBlocks, outDir: string, params: unknown): Promise<HighlyVariableResult> {
  await mkdir(outDir, { recursive: true });
  // The passes after QC read the kept cells and genes back from the output folder rather than decompress the file again.
  const cache = cacheAt(join(outDir, `.blocks-${process.pid}.tmp`));
  try {
    const result = preprocessHighlyVariable(dataset, preprocessOptions(resolveParams(params)), { cache: cache.make });
    await writeFile(join(outDir, 'qc_cells.csv'), qcCellsCsv(dataset.obs.index, result.qc));
    await writeFile(join(outDir, 'hvg.csv'), hvgCsv(result.var.index, result.hvg));
    return result;
  } finally {
    cache.dispose();
  }
}

export async function run(args: string[]): Promise<void> {
  const { file, options, rest } = splitCommandWords(args, 'preprocess', ['out', 'params']);
  if (!options.out) throw new UsageError('preprocess needs --out DIR');
  const params = await commandParams(rest, options.params, PREPROCESS_KEYS);
  const { summary } = await withDatasetBlocks(file, readOptions(resolveParams(params)), (dataset) => writePreprocessTables(dataset, options.out!, params));
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}
