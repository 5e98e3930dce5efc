/**
 * Preprocessing benchmark: QC (genes in >= 3 cells; 200 < genes < 2500, mito < 5 %), normalize_total
 * to 1e4, log1p and seurat_v3 with 2000 genes, on pbmc3k and on 100k cells resampled from it, each
 * in a fresh process (wall time of a cold and of a warm run, peak RSS against the CSR's size), and
 * Seurat 4.3's own steps for the same work on pbmc3k, timed in the same run when Rscript is present.
 * Writes bench/out/preprocess.json; skips cleanly without ../shared.
 *
 *   npx tsx bench/preprocess.ts
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnnData, CsrMatrix } from '../src/io/types.js';
import { preprocessOptions, resolveParams } from '../src/pipeline/params.js';
import { preprocess } from '../src/preprocess/index.js';
import { sampleCells } from './generate.js';

const dataPath = fileURLToPath(new URL('../../shared/data/pbmc3k/filtered_gene_bc_matrices/hg19/', import.meta.url));
const outDir = fileURLToPath(new URL('./out/', import.meta.url));
/** Seurat's tutorial QC with the product's normalisation and HVGs (1e4, seurat_v3, 2000 genes). */
const TUTORIAL = preprocessOptions(resolveParams({ min_cells: 3, min_genes: 201, max_genes: 2499, max_pct_mito: 5 }));
const LARGE_CELLS = 100_000;

/** The bytes a CSR matrix holds: what "peak memory below 2x the CSR" is measured against. */
const csrBytes = (m: CsrMatrix) => m.indptr.byteLength + m.indices.byteLength + m.data.byteLength;

interface CaseResult {
  cells: number;
  genes: number;
  nnz: number;
  csrMiB: number;
  /** First run in a fresh process (includes JIT warm-up), wall and CPU (user + system) seconds. */
  coldSeconds: number;
  coldCpuSeconds: number;
  /** Best of the later runs. */
  warmSeconds: number;
  warmCpuSeconds: number;
  baselineRssMiB: number;
  peakRssMiB: number;
  /** (peak RSS - RSS with the input loaded) / CSR bytes: what preprocessing itself adds. */
  peakExtraOverCsr: number;
  /** peak RSS of the whole process / CSR bytes (includes Node itself and the input matrix). */
  peakTotalOverCsr: number;
  keptCells: number;
  keptGenes: number;
}

const MiB = 2 ** 20;

/** Child process: load the dumped pbmc3k, resample if asked, then time `runs` preprocess runs and read the peak RSS of the first. */
async function runCase(dumpDir: string, nCells: number | undefined, runs: number): Promise<CaseResult> {
  const read = (name: string) => readFileSync(join(dumpDir, name));
  const view = <T>(buffer: Buffer, Type: { new (b: ArrayBuffer, o: number, l: number): T; BYTES_PER_ELEMENT: number }) =>
    new Type(buffer.buffer as ArrayBuffer, buffer.byteOffset, buffer.byteLength / Type.BYTES_PER_ELEMENT);
  const meta = JSON.parse(read('meta.json').toString()) as { nRows: number; nCols: number; genes: string[]; barcodes: string[] };
  const X: CsrMatrix = {
    nRows: meta.nRows,
    nCols: meta.nCols,
    indptr: view(read('indptr.bin'), Int32Array),
    indices: view(read('indices.bin'), Int32Array),
    data: view(read('data.bin'), Float32Array),
  };
  const read3k: AnnData = { X, obs: { index: meta.barcodes, columns: new Map() }, var: { index: meta.genes, columns: new Map() } };
  const data = nCells === undefined ? read3k : sampleCells(read3k, nCells, 0);
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = process.memoryUsage().rss;
  let kept = { cells: 0, genes: 0 };
  const timed = () => {
    const cpu = process.cpuUsage();
    const start = performance.now();
    const { summary } = preprocess(data, TUTORIAL);
    const used = process.cpuUsage(cpu);
    kept = { cells: summary.cells.kept, genes: summary.genes.kept };
    return { seconds: (performance.now() - start) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
  };
  const cold = timed();
  const peak = process.resourceUsage().maxRSS * 1024;
  const warm = Array.from({ length: runs - 1 }, timed);
  const bytes = csrBytes(data.X);
  return {
    cells: data.X.nRows,
    genes: data.X.nCols,
    nnz: data.X.data.length,
    csrMiB: bytes / MiB,
    coldSeconds: cold.seconds,
    coldCpuSeconds: cold.cpuSeconds,
    warmSeconds: Math.min(...warm.map((w) => w.seconds)),
    warmCpuSeconds: Math.min(...warm.map((w) => w.cpuSeconds)),
    baselineRssMiB: baseline / MiB,
    peakRssMiB: peak / MiB,
    peakExtraOverCsr: (peak - baseline) / bytes,
    peakTotalOverCsr: peak / bytes,
    keptCells: kept.cells,
    keptGenes: kept.genes,
  };
}

/** Seurat's steps for the same work (CreateSeuratObject with min.cells, percent.mt, subset, NormalizeData, vst), timed in R: first and best of 3 runs. */
function seuratSeconds(): { coldSeconds: number; coldCpuSeconds: number; warmSeconds: number; warmCpuSeconds: number; cells: number; hvg: number } | string {
  try {
    execFileSync('Rscript', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'skipped: Rscript not found (apt-get install -y r-cran-seurat)';
  }
  const script = `
    suppressMessages({ library(Matrix); library(Seurat) })
    dir <- "${dataPath}"
    counts <- as(readMM(gzfile(file.path(dir, "matrix.mtx.gz"))), "CsparseMatrix")
    dimnames(counts) <- list(read.delim(file.path(dir, "genes.tsv"), header = FALSE)[[2]], readLines(file.path(dir, "barcodes.tsv")))
    for (run in 1:3) {
      t <- system.time({
        obj <- CreateSeuratObject(counts, min.cells = 3, min.features = 200)
        obj[["percent.mt"]] <- PercentageFeatureSet(obj, pattern = "^MT-")
        obj <- subset(obj, subset = nFeature_RNA > 200 & nFeature_RNA < 2500 & percent.mt < 5)
        obj <- NormalizeData(obj, normalization.method = "LogNormalize", scale.factor = 1e4, verbose = FALSE)
        obj <- FindVariableFeatures(obj, selection.method = "vst", nfeatures = 2000, verbose = FALSE)
      })
      cat(t[["elapsed"]], t[["user.self"]] + t[["sys.self"]], ncol(obj), length(VariableFeatures(obj)), "\\n")
    }`;
  const out = execFileSync('Rscript', ['-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const runs = out.trim().split('\n').map((line) => line.trim().split(/\s+/).map(Number));
  const later = runs.slice(1);
  return {
    coldSeconds: runs[0]![0]!,
    coldCpuSeconds: runs[0]![1]!,
    warmSeconds: Math.min(...later.map((r) => r[0]!)),
    warmCpuSeconds: Math.min(...later.map((r) => r[1]!)),
    cells: runs[0]![2]!,
    hvg: runs[0]![3]!,
  };
}

async function main(): Promise<void> {
  const child = process.argv.indexOf('--child');
  if (child >= 0) {
    const [dumpDir, runs, nCells] = process.argv.slice(child + 1);
    console.log(JSON.stringify(await runCase(dumpDir!, nCells ? Number(nCells) : undefined, Number(runs))));
    return;
  }
  if (!existsSync(dataPath)) {
    console.log(`skipped: ${dataPath} not found`);
    return;
  }
  const { readDataset } = await import('../src/io/index.js');
  const loadStart = performance.now();
  const { data } = await readDataset(dataPath);
  const readSeconds = (performance.now() - loadStart) / 1000;
  const dumpDir = mkdtempSync(join(tmpdir(), 'bench-preprocess-'));
  try {
    const { X } = data;
    writeFileSync(join(dumpDir, 'indptr.bin'), X.indptr);
    writeFileSync(join(dumpDir, 'indices.bin'), X.indices);
    writeFileSync(join(dumpDir, 'data.bin'), X.data);
    writeFileSync(join(dumpDir, 'meta.json'), JSON.stringify({ nRows: X.nRows, nCols: X.nCols, genes: data.var.index, barcodes: data.obs.index }));
    const self = fileURLToPath(import.meta.url);
    const spawnCase = (...extra: string[]) =>
      JSON.parse(
        execFileSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', '--import', 'tsx', self, '--child', dumpDir, ...extra], {
          encoding: 'utf8',
          maxBuffer: 1 << 20,
        }).trim().split('\n').at(-1)!,
      ) as CaseResult;
    const loadBefore = loadavg()[0];
    const pbmc3k = spawnCase('4');
    console.log('pbmc3k', pbmc3k);
    const seurat = seuratSeconds();
    console.log('seurat', seurat);
    const large = spawnCase('2', String(LARGE_CELLS));
    console.log(`${LARGE_CELLS} cells`, large);
    const figures = {
      steps: 'QC (min_cells 3; 200 < genes < 2500; pct_counts_mt < 5) + normalize_total(1e4) + log1p + seurat_v3 (2000 genes)',
      pbmc3k: { ...pbmc3k, readSeconds },
      seurat:
        typeof seurat === 'string'
          ? seurat
          : {
              ...seurat,
              speedup: {
                coldWall: seurat.coldSeconds / pbmc3k.coldSeconds,
                coldCpu: seurat.coldCpuSeconds / pbmc3k.coldCpuSeconds,
                warmWall: seurat.warmSeconds / pbmc3k.warmSeconds,
                warmCpu: seurat.warmCpuSeconds / pbmc3k.warmCpuSeconds,
              },
            },
      [`resampled${LARGE_CELLS}`]: { ...large, source: `${LARGE_CELLS} pbmc3k cells drawn with replacement and thinned, in memory (sampleCells of bench/generate.ts, seed 0)` },
      node: process.version,
      loadAverage1mBefore: loadBefore,
      loadAverage1mAfter: loadavg()[0],
    };
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'preprocess.json'), JSON.stringify(figures, null, 2));
    console.log(`wrote ${join(outDir, 'preprocess.json')}`);
  } finally {
    rmSync(dumpDir, { recursive: true, force: true });
  }
}

await main();
