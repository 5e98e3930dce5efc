/**
 * Decompression bombs against the reader: a 1 MB zip and tar.gz of 1 GiB of zeros (test/reliability/harness.ts),
 * each read by inspectDataset in this process: how long until it is refused, and this process's peak RSS.
 * Usage: tsx bench/bombs.ts; figures go to bench/out/bombs.json.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectDataset } from '../src/io/index.js';
import { tarGzBomb, zipBomb } from '../test/reliability/harness.js';
import { repoRoot } from './generate.js';

const dir = await mkdtemp(join(tmpdir(), 'scgmdvae-bombs-'));
const results: Record<string, unknown>[] = [];
try {
  for (const [name, make] of [['bomb.tar.gz', tarGzBomb], ['bomb.zip', zipBomb]] as const) {
    const bytes = make();
    await writeFile(join(dir, name), bytes);
    const started = performance.now();
    const refusal = await inspectDataset(join(dir, name)).then(() => 'read (not refused)', (err: Error) => err.message);
    results.push({ name, compressed_mb: bytes.length / 1e6, refused_after_seconds: (performance.now() - started) / 1000, message: refusal.replace(dir, ''), peak_rss_mb: process.resourceUsage().maxRSS / 1024 });
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(results, null, 2));
await mkdir(join(repoRoot, 'bench', 'out'), { recursive: true });
await writeFile(join(repoRoot, 'bench', 'out', 'bombs.json'), JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
