import assert from 'node:assert/strict';
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { zipSync } from 'fflate';
import tar from 'tar-stream';
import { DatasetError, readDataset } from '../../src/io/index.js';
import { fixture, tempDir } from './fixtures.js';

const HEADER = '%%MatrixMarket matrix coordinate integer general\n';

/** Writes a 10x MTX folder of 3 genes x 2 cells with the given matrix body and barcodes. */
async function mtxFolder(body: string, barcodes = 'AAA-1\nCCC-1\n', header = HEADER): Promise<string> {
  const dir = await tempDir();
  await writeFile(join(dir, 'matrix.mtx'), header + body);
  await writeFile(join(dir, 'barcodes.tsv'), barcodes);
  await writeFile(join(dir, 'genes.tsv'), 'G1\tGENE1\nG2\tGENE2\nG3\tGENE3\n');
  return dir;
}

async function tarGz(entries: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, content] of Object.entries(entries)) pack.entry({ name }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

async function rejectsWith(path: string, code: DatasetError['code'], message: RegExp): Promise<void> {
  await assert.rejects(readDataset(path), (error: unknown) => {
    assert.ok(error instanceof DatasetError, `expected a DatasetError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

describe('readDataset: malformed input gives a typed error that names the problem', () => {
  it('a truncated HDF5 file', async () => {
    const dir = await tempDir();
    const bytes = await readFile(fixture('pbmc68k-reduced-counts.h5ad'));
    await writeFile(join(dir, 'cut.h5ad'), bytes.subarray(0, 50_000));
    await rejectsWith(join(dir, 'cut.h5ad'), 'truncated', /truncated.*send the whole file again/);
  });

  it('a text file named .h5ad', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'notes.h5ad'), 'cell,gene,count\n');
    await rejectsWith(join(dir, 'notes.h5ad'), 'unknown_format', /not a dataset this service reads/);
  });

  it('an empty file and a missing path', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'empty.h5ad'), '');
    await rejectsWith(join(dir, 'empty.h5ad'), 'empty', /empty file/);
    await rejectsWith(join(dir, 'absent.h5ad'), 'not_found', /no file or folder/);
  });

  it('a dataset compressed with LZF, naming the filter and the remedy', async () => {
    await rejectsWith(fixture('lzf.h5ad'), 'unsupported_filter', /LZF.*compression="gzip"/);
  });

  it('a pre-0.7 anndata file', async () => {
    await rejectsWith(fixture('legacy-0.6.h5ad'), 'unsupported_layout', /pre-0\.7 anndata.*save it again/);
  });

  it('an MTX whose header declares more entries than it holds, or fewer', async () => {
    await rejectsWith(await mtxFolder('3 2 3\n1 1 5\n2 2 1\n'), 'inconsistent_shape', /declares 3 entries but holds 2/);
    await rejectsWith(await mtxFolder('3 2 1\n1 1 5\n2 2 1\n'), 'inconsistent_shape', /more entries than the 1/);
  });

  it('an MTX entry outside the declared shape', async () => {
    await rejectsWith(await mtxFolder('3 2 1\n4 1 5\n'), 'inconsistent_shape', /outside the declared 3 x 2/);
  });

  it('negative and NaN values', async () => {
    await rejectsWith(await mtxFolder('3 2 1\n1 1 -2\n'), 'invalid_value', /negative/);
    const real = '%%MatrixMarket matrix coordinate real general\n';
    await rejectsWith(await mtxFolder('3 2 1\n1 1 NaN\n', undefined, real), 'invalid_value', /not a finite number/);
  });

  it('an empty matrix', async () => {
    await rejectsWith(await mtxFolder('3 2 0\n'), 'empty', /not one nonzero value/);
    await rejectsWith(await mtxFolder('3 0 0\n', ''), 'empty', /empty matrix/);
  });

  it('duplicate barcodes', async () => {
    await rejectsWith(await mtxFolder('3 2 1\n1 1 5\n', 'AAA-1\nAAA-1\n'), 'invalid_value', /"AAA-1" appears twice/);
  });

  it('a barcode count that does not match the matrix', async () => {
    await rejectsWith(await mtxFolder('3 2 1\n1 1 5\n', 'AAA-1\n'), 'inconsistent_shape', /1 barcodes for a matrix of 2 cells/);
  });

  it('a folder without the files of a 10x matrix', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'matrix.mtx'), `${HEADER}3 2 1\n1 1 5\n`);
    await rejectsWith(dir, 'missing_element', /no barcodes/);
  });

  it('archive entries that climb out of the folder (tar.gz and zip), writing nothing anywhere', async () => {
    const dir = await tempDir();
    const inner = join(dir, 'inner');
    await mkdir(inner);
    const entries = { 'm/matrix.mtx': `${HEADER}3 2 1\n1 1 5\n`, 'm/barcodes.tsv': 'A\nB\n', 'm/genes.tsv': 'G1\nG2\nG3\n', '../x': 'escaped' };
    await writeFile(join(inner, 'upload.tar.gz'), await tarGz(entries));
    await rejectsWith(join(inner, 'upload.tar.gz'), 'unsafe_archive', /"\.\.\/x" that points outside/);
    const zipped = zipSync(Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, Buffer.from(v)])));
    await writeFile(join(inner, 'upload.zip'), zipped);
    await rejectsWith(join(inner, 'upload.zip'), 'unsafe_archive', /"\.\.\/x" that points outside/);
    assert.deepEqual(await readdir(dir), ['inner']);
    assert.deepEqual((await readdir(inner)).sort(), ['upload.tar.gz', 'upload.zip']);
  });

  it('a well-formed archive with a nested top folder reads', async () => {
    const dir = await tempDir();
    const entries = { 'top/sample/matrix.mtx': `${HEADER}3 2 2\n1 1 5\n3 2 1`, 'top/sample/barcodes.tsv': 'A\nB\n', 'top/sample/genes.tsv': 'G1\nG2\nG3\n', 'top/._matrix.mtx': 'junk' };
    await writeFile(join(dir, 'upload.tgz'), await tarGz(entries));
    const result = await readDataset(join(dir, 'upload.tgz'));
    assert.deepEqual([result.data.X.nRows, result.data.X.nCols, result.data.X.data.length], [2, 3, 2]);
  });
});
