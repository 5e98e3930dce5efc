/**
 * The CPU half of bench/gpu.sh: preprocesses the two datasets the GPU check trains on, with the
 * pipeline's own code, and saves their model inputs (bench/gpu-inputs.ts): pbmc3k (the cells
 * bench/generate.ts samples, here sampled after preprocessing) for throughput, CellBench's two
 * platforms (cell lines known on demuxlet's singlets) for quality.
 *
 *   npx tsx bench/gpu-prepare.ts DIR
 */
import { join } from 'node:path';
import { readDataset } from '../src/io/index.js';
import { asCategories } from '../src/io/frame.js';
import { isCsr } from '../src/io/sparse.js';
import { datasetInMemory, modelInputs, preprocessCells } from '../src/pipeline/index.js';
import { readOptions, resolveParams, settleParams } from '../src/pipeline/params.js';
import { pbmc3kPath, sharedData } from './generate.js';
import { saveInputs } from './gpu-inputs.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: tsx bench/gpu-prepare.ts DIR');

const datasets = [
  // bench/pipeline.ts's parameters for its generated 100k run and for CellBench.
  { name: 'pbmc3k', path: pbmc3kPath, params: { min_cells: 3, min_genes: 201, n_clusters: 9 } },
  { name: 'cellbench', path: join(sharedData, 'cellbench', 'cellbench_2platforms.h5ad'), params: { condition_keys: ['platform'], n_clusters: 3 } },
];
for (const { name, path, params } of datasets) {
  const resolved = resolveParams(params);
  const { data, values } = await readDataset(path, readOptions(resolved));
  const cells = preprocessCells(datasetInMemory(data), resolved);
  const inputs = modelInputs(cells, settleParams(resolved, cells.kept.length, values));
  if (!isCsr(inputs.x)) throw new Error(`${name}: the model inputs are dense; the GPU check stores CSR`);
  let truth = new Int32Array(cells.kept.length).fill(-1);
  if (name === 'cellbench') {
    const line = asCategories(data.obs, 'cell_line_demuxlet', 'cell line');
    const singlet = asCategories(data.obs, 'demuxlet_cls', 'demuxlet class');
    truth = Int32Array.from(cells.kept, (r) => (singlet.categories[singlet.codes[r]] === 'SNG' ? line.codes[r] : -1));
  }
  saveInputs(join(dir, name), { name, params, inputs: { ...inputs, x: inputs.x }, truth });
  console.log(`${name}: ${inputs.x.nRows} cells x ${inputs.x.nCols} features, ${inputs.x.data.length} stored values`);
}
