/**
 * `preprocess FILE --out DIR [--params FILE] [--KEY VALUE ...]`: QC, normalisation and highly variable
 * genes only, with the pipeline's parameters and defaults; writes DIR/qc_cells.csv and DIR/hvg.csv and
 * prints the summary as one JSON line.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readDataset } from '../io/index.js';
import { PREPROCESS_KEYS, preprocessOptions, readOptions, resolveParams } from '../pipeline/params.js';
import { hvgCsv, preprocess, qcCellsCsv, type PreprocessResult } from '../preprocess/index.js';
import type { AnnData } from '../io/types.js';
import { commandParams, splitCommandWords, UsageError } from './args.js';

export const usage = `preprocess FILE --out DIR [--params params.json] [--KEY VALUE ...]   (keys: ${PREPROCESS_KEYS.join(', ')})`;

/** Runs the recipe and writes `outDir/qc_cells.csv` (every input cell's metrics and whether it was kept) and `outDir/hvg.csv`. */
export async function writePreprocessTables(data: AnnData, outDir: string, params: unknown): Promise<PreprocessResult> {
  const result = preprocess(data, preprocessOptions(resolveParams(params)));
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'qc_cells.csv'), qcCellsCsv(data.obs.index, result.qc));
  await writeFile(join(outDir, 'hvg.csv'), hvgCsv(result.data.var.index, result.hvg));
  return result;
}

export async function run(args: string[]): Promise<void> {
  const { file, options, rest } = splitCommandWords(args, 'preprocess', ['out', 'params']);
  if (!options.out) throw new UsageError('preprocess needs --out DIR');
  const params = await commandParams(rest, options.params, PREPROCESS_KEYS);
  const { data } = await readDataset(file, readOptions(resolveParams(params)));
  const { summary } = await writePreprocessTables(data, options.out, params);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}
