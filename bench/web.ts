/**
 * The web page's UMAP at 20,000 and 200,000 cells in headless Chromium (software WebGL: SwiftShader): the time
 * from navigation to the first frame of the scatter plot (fetching and decoding embedding.bin included), the frame
 * rate while the mouse drags the plot (frames that move the drawn picture, and how many had to draw every cell),
 * the frame rate while the wheel zooms (every frame draws every cell), and the time to recolour by a gene. Jobs with synthetic results (clustered
 * 2-d blobs) are written straight into a temporary DATA_DIR and served by the real API.
 *   npx tsx bench/web.ts [--cells 20000,200000] [--seconds 4]
 * Writes bench/out/web.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startApi } from '../src/api/app.js';
import { writeFileAtomic } from '../src/io/atomic.js';
import { toCsv } from '../src/io/csv.js';
import { encodeEmbedding } from '../src/io/embedding-file.js';
import { writeExpressionFile } from '../src/io/expression-file.js';
import type { CsrMatrix } from '../src/io/types.js';
import { packageRoot } from '../src/paths.js';
import { mulberry32 } from '../src/random.js';
import { cleanup, newKey, storeJob, testConfig } from '../test/service/helpers.js';
import { buildWebPage, CHROMIUM_FLAGS, launchChromium } from '../test/web/browser.js';

const { values: args } = parseArgs({ options: { cells: { type: 'string', default: '20000,200000' }, seconds: { type: 'string', default: '4' } } });
const SIZES = args.cells!.split(',').map(Number);
const PAN_SECONDS = Number(args.seconds);
const CLUSTERS = 12;
const GENES = 20;

/** n cells in CLUSTERS Gaussian blobs; a condition, QC-like numbers, and GENES genes expressed in a tenth of the cells. */
async function writeSyntheticResults(dir: string, n: number): Promise<number> {
  const random = mulberry32(n);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const coords = new Float32Array(2 * n);
  const cluster = new Int32Array(n);
  const batch = new Int32Array(n);
  const [counts, genes, mito, probability] = [0, 1, 2, 3].map(() => new Float32Array(n));
  for (let i = 0; i < n; i++) {
    const k = Math.floor(random() * CLUSTERS);
    const angle = (2 * Math.PI * k) / CLUSTERS;
    coords[2 * i] = 10 * Math.cos(angle) + 1.2 * normal();
    coords[2 * i + 1] = 10 * Math.sin(angle) + 1.2 * normal();
    cluster[i] = k;
    batch[i] = random() < 0.5 ? 0 : 1;
    counts[i] = Math.exp(8 + 0.5 * normal());
    genes[i] = counts[i]! / 3;
    mito[i] = Math.abs(2 * normal());
    probability[i] = 0.5 + 0.5 * random();
  }
  const embedding = encodeEmbedding({
    embedding: 'X_umap',
    coords,
    barcodes: Array.from({ length: n }, (_, i) => `cell-${i}`),
    columns: [
      { kind: 'categorical', name: 'cluster', role: 'cluster', categories: Array.from({ length: CLUSTERS }, (_, k) => String(k)), codes: cluster },
      { kind: 'categorical', name: 'batch', role: 'condition', categories: ['a', 'b'], codes: batch },
      { kind: 'numeric', name: 'cluster_probability', role: 'score', values: probability },
      { kind: 'numeric', name: 'total_counts', role: 'qc', values: counts },
      { kind: 'numeric', name: 'n_genes_by_counts', role: 'qc', values: genes },
      { kind: 'numeric', name: 'pct_counts_mt', role: 'qc', values: mito },
    ],
  });
  await writeFileAtomic(join(dir, 'embedding.bin'), embedding);
  const indptr = new Int32Array(n + 1);
  const indices: number[] = [];
  const data: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let g = 0; g < GENES; g++) {
      if (random() < 0.1) {
        indices.push(g);
        data.push(random() * 4);
      }
    }
    indptr[i + 1] = indices.length;
  }
  const matrix: CsrMatrix = { nRows: n, nCols: GENES, indptr, indices: Int32Array.from(indices), data: Float32Array.from(data) };
  await writeExpressionFile(join(dir, 'expression.bin'), matrix, Array.from({ length: GENES }, (_, g) => `GENE${g}`));
  const markerRows = Array.from({ length: CLUSTERS * 5 }, (_, r) => [String(Math.floor(r / 5)), (r % 5) + 1, `GENE${r % GENES}`, 10 - (r % 5), 2, 1e-10, 1e-8, 0.9, 0.2]);
  await writeFileAtomic(join(dir, 'markers.csv'), toCsv(['cluster', 'rank', 'gene', 'score', 'logfoldchange', 'pval', 'pval_adj', 'pct_in', 'pct_out'], markerRows));
  await writeFileAtomic(join(dir, 'training.csv'), toCsv(['epoch', 'learning_rate', 'train_total', 'validation_total', 'seconds'], Array.from({ length: 20 }, (_, e) => [e, 0.001, 100 / (e + 1), 110 / (e + 1), 1])));
  await writeFileAtomic(join(dir, 'manifest.json'), JSON.stringify({ cells: { input: n, kept: n }, clusters: { count: CLUSTERS } }));
  return embedding.length;
}

const config = await testConfig({ LOG_LEVEL: 'silent' });
const api = await startApi(config);
const key = await newKey(config, 'bench');
await buildWebPage();
const browser = await launchChromium();
const results: Record<string, unknown>[] = [];
let renderer = '';
try {
  for (const n of SIZES) {
    let embeddingBytes = 0;
    const id = await storeJob(config, 'bench', async (dir) => {
      embeddingBytes = await writeSyntheticResults(dir, n);
    });

    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    await context.addInitScript(`sessionStorage.setItem('scgmdvae.apiKey', ${JSON.stringify(key)})`);
    const page = await context.newPage();
    const load = loadavg()[0];
    await page.goto(`${api.url}/#/jobs/${id}`);
    const canvas = await page.waitForSelector('canvas.scatter-canvas[data-first-draw-ms]', { timeout: 120_000 });
    const firstDrawMs = Number(await canvas.getAttribute('data-first-draw-ms'));
    renderer ||= await page.evaluate(`(() => { const gl = document.createElement('canvas').getContext('webgl2'); const info = gl.getExtension('WEBGL_debug_renderer_info'); return info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER); })()`);
    const points = Number(await canvas.getAttribute('data-points'));

    // Drag in a circle for PAN_SECONDS; frames drawn over wall time is the frame rate the user sees.
    const box = (await canvas.boundingBox())!;
    const [cx, cy] = [box.x + box.width / 2, box.y + box.height / 2];
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    const framesBefore = Number(await canvas.getAttribute('data-frames'));
    const fullBefore = Number(await canvas.getAttribute('data-full-frames'));
    const started = performance.now();
    let moves = 0;
    while (performance.now() - started < PAN_SECONDS * 1000) {
      const t = (performance.now() - started) / 1000;
      await page.mouse.move(cx + 150 * Math.cos(2 * t), cy + 150 * Math.sin(2 * t));
      moves++;
    }
    await page.mouse.up();
    const seconds = (performance.now() - started) / 1000;
    await page.waitForTimeout(100);
    const frames = Number(await canvas.getAttribute('data-frames')) - framesBefore;
    const repaints = Number(await canvas.getAttribute('data-full-frames')) - fullBefore;

    // Zooming with the wheel draws every cell in each frame: the rate of full redraws.
    const zoomFramesBefore = Number(await canvas.getAttribute('data-full-frames'));
    const zoomStarted = performance.now();
    let ticks = 0;
    while (performance.now() - zoomStarted < PAN_SECONDS * 1000) {
      await page.mouse.wheel(0, ticks++ % 20 < 10 ? -40 : 40);
    }
    const zoomSeconds = (performance.now() - zoomStarted) / 1000;
    await page.waitForTimeout(300);
    const zoomFrames = Number(await canvas.getAttribute('data-full-frames')) - zoomFramesBefore;

    // Recolour by a gene: from the click to the next frame drawn.
    const beforeGene = Number(await canvas.getAttribute('data-frames'));
    const geneStarted = performance.now();
    await page.fill('input[name=gene]', 'GENE3');
    await page.click('.suggestions button:text-is("GENE3")');
    // Polled from here: waitForFunction would evaluate a string in the page, which the page's CSP refuses.
    while (Number(await canvas.getAttribute('data-frames')) <= beforeGene || !(await page.textContent('.legend h4'))?.startsWith('GENE3')) await page.waitForTimeout(10);
    const recolorGeneMs = performance.now() - geneStarted;

    const result = {
      cells: n,
      pointsDrawn: points,
      embeddingBytes,
      firstDrawMs: Math.round(firstDrawMs),
      panSeconds: Number(seconds.toFixed(2)),
      framesWhilePanning: frames,
      framesPerSecond: Number((frames / seconds).toFixed(1)),
      mouseMovesPerSecond: Number((moves / seconds).toFixed(1)),
      fullRedrawsWhilePanning: repaints,
      zoomFramesPerSecond: Number((zoomFrames / zoomSeconds).toFixed(1)),
      wheelEventsPerSecond: Number((ticks / zoomSeconds).toFixed(1)),
      recolorByGeneMs: Math.round(recolorGeneMs),
      loadAverage: load,
    };
    results.push(result);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    await context.close();
  }
} finally {
  await browser.close();
  await api.stop();
  await cleanup(config);
}

const out = join(packageRoot, 'bench', 'out');
await mkdir(out, { recursive: true });
await writeFile(
  join(out, 'web.json'),
  JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, chromiumFlags: CHROMIUM_FLAGS, renderer, results }, null, 2),
);
