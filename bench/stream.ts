/**
 * Streaming preprocessing benchmark: a file of resampled pbmc3k cells (bench/generate.ts) read by blocks of
 * rows and preprocessed in passes over them (withDatasetBlocks + preprocessHighlyVariable, only the highly
 * variable genes kept in memory; the kept cells and genes cached in a file after QC for the later passes, or not), against reading it whole and preprocessing in memory (readDataset +
 * preprocess, the pipeline's path today). Each mode runs in a fresh process: seconds per step, peak RSS, and a
 * digest of the highly variable genes and their counts and log values, which the two modes must share.
 * Default parameters (the schema's). Writes bench/out/stream.json.
 *
 *   npx tsx bench/stream.ts [--cells 100000,1000000] [--modes blocks,blocks-uncached,memory] [--out bench/out/stream.json]
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cachedBlocks } from '../src/io/block-cache.js';
import { readDataset, withDatasetBlocks, type RowBlocks } from '../src/io/index.js';
import { selectColumns } from '../src/io/sparse.js';
import type { CsrMatrix } from '../src/io/types.js';
import { preprocessOptions, resolveParams } from '../src/pipeline/params.js';
import { flaggedIndices, preprocess, preprocessHighlyVariable, type PreprocessStep } from '../src/preprocess/index.js';
import { ensureGenerated, repoRoot } from './generate.js';

/** blocks: read by blocks, the kept cells and genes cached in a file after QC (the design); blocks-uncached: every pass decodes the file again. */
const MODES = ['blocks', 'blocks-uncached', 'memory'] as const;
type Mode = (typeof MODES)[number];

/** sha256 of the highly variable genes and of their counts and log values: equal digests, equal results. */
function digest(highlyVariable: Int32Array, counts: CsrMatrix, X: CsrMatrix): string {
  const hash = createHash('sha256');
  for (const array of [highlyVariable, counts.indptr, counts.indices, counts.data, X.data]) hash.update(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  return hash.digest('hex');
}

/** One mode on one file, in this process: seconds from the start to each step, the total, peak RSS. */
async function measure(mode: Mode, path: string) {
  const options = preprocessOptions(resolveParams({}));
  const started = performance.now();
  const at: Record<string, number> = {};
  const onStep = (step: PreprocessStep) => (at[step] = (performance.now() - started) / 1000);
  let result: { highlyVariable: Int32Array; counts: CsrMatrix; X: CsrMatrix; cells: number; values: number };
  if (mode !== 'memory') {
    result = await withDatasetBlocks(path, {}, (dataset) => {
      const cache = mode === 'blocks' ? (kept: RowBlocks) => cachedBlocks(kept, join(tmpdir(), `stream-bench-${process.pid}.blocks`)) : undefined;
      const pre = preprocessHighlyVariable(dataset, options, { onStep, cache });
      return { highlyVariable: pre.highlyVariable, counts: pre.counts, X: pre.X, cells: pre.summary.cells.kept, values: pre.counts.data.length };
    });
  } else {
    const { data } = await readDataset(path);
    at.read = (performance.now() - started) / 1000;
    const pre = preprocess(data, options, onStep);
    const highlyVariable = flaggedIndices(pre.hvg.highly_variable);
    const counts = selectColumns(pre.data.layers!.get('counts')!, highlyVariable);
    result = { highlyVariable, counts, X: selectColumns(pre.data.X, highlyVariable), cells: pre.summary.cells.kept, values: counts.data.length };
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    mode,
    seconds_at_step: at,
    seconds,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    kept_cells: result.cells,
    highly_variable_values: result.values,
    digest: digest(result.highlyVariable, result.counts, result.X),
  };
}

const { values: args } = parseArgs({
  options: {
    cells: { type: 'string', default: '100000,1000000' },
    modes: { type: 'string', default: MODES.join(',') },
    child: { type: 'string' },
    path: { type: 'string' },
    out: { type: 'string', default: join(repoRoot, 'bench', 'out', 'stream.json') },
  },
});

if (args.child) {
  process.stdout.write(JSON.stringify(await measure(args.child as Mode, args.path!)));
} else {
  const report: Record<string, unknown> = { started: new Date().toISOString(), load: loadavg(), params: 'schema defaults', runs: [] as unknown[] };
  const runs = report.runs as unknown[];
  for (const nCells of args.cells!.split(',').map(Number)) {
    const path = await ensureGenerated(nCells);
    const byMode: Record<string, { digest: string }> = {};
    for (const mode of args.modes!.split(',') as Mode[]) {
      const output = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', mode, '--path', path], { encoding: 'utf8', maxBuffer: 1 << 20 });
      byMode[mode] = JSON.parse(output);
      runs.push({ cells: nCells, ...byMode[mode] });
      writeFileSync(args.out!, JSON.stringify(report, null, 1));
      console.log(JSON.stringify(runs.at(-1)));
    }
    runs.push({ cells: nCells, same_result: new Set(Object.values(byMode).map((run) => run.digest)).size === 1 });
  }
  report.finished = new Date().toISOString();
  writeFileSync(args.out!, JSON.stringify(report, null, 1));
}
