/**
 * Wilcoxon marker-gene benchmark on pbmc3k (2700 cells x 32738 genes), log-normalised as scanpy's
 * tutorial does (normalize_total to 1e4, log1p). pbmc3k ships without labels, so cells are grouped by
 * which of nine canonical PBMC marker genes has the highest normalised value (cells expressing none
 * get -1): a cheap stand-in for a clustering that gives each group real markers to find. Above the
 * pipeline's MARKER_CELLS it also runs the test on the pipeline's sample (seeds 0-2) and reports how many of
 * each group's top 25 genes the sample shares with the test on every cell.
 * Writes bench/out/markers.json; skips cleanly when the data are missing.
 *
 *   npx tsx bench/markers.ts              # pbmc3k from ../shared/data
 *   npx tsx bench/markers.ts other.h5ad   # any counts dataset the reader opens (same labelling), e.g.
 *                                         # bench/out/pbmc3k-sampled-100000.h5ad (bench/generate.ts)
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { readDataset } from '../src/io/index.js';
import { submatrix } from '../src/io/sparse.js';
import { markerSample } from '../src/markers/sample.js';
import { rankGenesGroups } from '../src/markers/wilcoxon.js';
import { preprocessOptions, resolveParams } from '../src/pipeline/params.js';
import { preprocess } from '../src/preprocess/index.js';

const dataPath = process.argv[2] ?? fileURLToPath(new URL('../../shared/data/pbmc3k/filtered_gene_bc_matrices/hg19/', import.meta.url));
const outDir = fileURLToPath(new URL('./out/', import.meta.url));
const LABEL_GENES = ['IL7R', 'CD8A', 'MS4A1', 'CD14', 'FCGR3A', 'NKG7', 'FCER1A', 'PPBP', 'LYZ'];

if (!existsSync(dataPath)) {
  console.log(`skipped: ${dataPath} not found`);
  process.exit(0);
}
const { data: read } = await readDataset(dataPath);
// The product's normalisation (normalize_total to 1e4, log1p), no QC: every cell and gene.
const { data } = preprocess(read, preprocessOptions(resolveParams({})));
const geneNames = data.var.index;
const X = data.X;

// Group = the label gene with the highest value in the cell (-1 when none is expressed).
const labelColumns = LABEL_GENES.map((gene) => geneNames.indexOf(gene));
if (labelColumns.includes(-1)) throw new Error(`label genes missing from the dataset: ${LABEL_GENES.filter((_, i) => labelColumns[i] === -1)}`);
const labels = new Int32Array(X.nRows).fill(-1);
for (let cell = 0; cell < X.nRows; cell++) {
  let best = 0;
  for (let e = X.indptr[cell]; e < X.indptr[cell + 1]; e++) {
    const group = labelColumns.indexOf(X.indices[e]);
    if (group >= 0 && X.data[e] > best) {
      best = X.data[e];
      labels[cell] = group;
    }
  }
}

const loadBefore = loadavg()[0];
const cpuStart = process.cpuUsage();
const start = performance.now();
const table = rankGenesGroups(X, labels, geneNames, { nTop: 100 });
const seconds = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpuStart);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;

const groupSizes = LABEL_GENES.map((_, g) => labels.filter((l) => l === g).length);

// Above MARKER_CELLS the pipeline tests a sample (markers/sample.ts): its top genes against the exact test's, per group and seed.
const TOP = 25;
const topOf = (t: typeof table, g: number) => t.gene.filter((_, r) => t.group[r] === g && t.rank[r] <= TOP);
const sampled = [0, 1, 2].flatMap((seed) => {
  const rows = markerSample(labels, seed);
  if (!rows) return [];
  const started = performance.now();
  const sampleTable = rankGenesGroups(submatrix(X, rows, null), Int32Array.from(rows, (r) => labels[r]!), geneNames, { nTop: 100 });
  const sampleSeconds = (performance.now() - started) / 1000;
  const overlap = LABEL_GENES.map((_, g) => {
    const exact = new Set(topOf(table, g));
    return topOf(sampleTable, g).filter((gene) => exact.has(gene)).length / TOP;
  });
  const sameFirst = LABEL_GENES.filter((_, g) => topOf(table, g)[0] === topOf(sampleTable, g)[0]).length;
  return [{ seed, cells: rows.length, seconds: sampleSeconds, top25_overlap_per_group: overlap, top25_overlap_min: Math.min(...overlap), same_first_gene: `${sameFirst}/${LABEL_GENES.length}` }];
});
for (const s of sampled) console.log(`  sample seed ${s.seed}: ${s.cells} cells, ${s.seconds.toFixed(2)} s, top-${TOP} overlap min ${s.top25_overlap_min.toFixed(2)}, first gene same in ${s.same_first_gene}`);
const topGenes = Object.fromEntries(
  LABEL_GENES.map((gene, g) => [gene, table.gene.filter((_, r) => table.group[r] === g && table.rank[r] <= 5)]),
);
console.log(`wilcoxon on ${X.nRows} cells x ${X.nCols} genes (nnz ${X.indptr[X.nRows]}), ${LABEL_GENES.length} groups: ${seconds.toFixed(2)} s wall, ${cpuSeconds.toFixed(2)} s CPU`);
for (const [gene, top] of Object.entries(topGenes)) console.log(`  ${gene.padEnd(7)} ${top.join(' ')}`);
mkdirSync(outDir, { recursive: true });
writeFileSync(
  `${outDir}markers.json`,
  JSON.stringify({
    data: dataPath, cells: X.nRows, genes: X.nCols, nnz: X.indptr[X.nRows], labels: `argmax of ${LABEL_GENES.join(', ')}`,
    groupSizes, unlabelled: labels.filter((l) => l === -1).length, nTop: 100, seconds, cpuSeconds, node: process.version,
    loadAverage1mBefore: loadBefore, top5: topGenes, sampled,
  }, null, 2),
);
console.log(`wrote ${outDir}markers.json`);
