/** embedding.bin and expression.bin: what is written reads back exactly; damaged files are refused by name. */
import assert from 'node:assert/strict';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { BlockFileError } from '../../src/io/block-file.js';
import { parseCsv, toCsv } from '../../src/io/csv.js';
import { decodeEmbedding, encodeEmbedding, type CellColumn } from '../../src/io/embedding-file.js';
import { readExpressionIndex, readGeneValues, writeExpressionFile, type RangeReader } from '../../src/io/expression-file.js';
import { inMemoryBlocks, type RowBlocks } from '../../src/io/row-blocks.js';
import type { CsrMatrix } from '../../src/io/types.js';
import { mulberry32 } from '../../src/random.js';
import { tempDir } from './fixtures.js';

/** An ArrayBuffer of exactly these bytes, as fetch's arrayBuffer() gives the page. */
function bufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

test('embedding.bin: coordinates, categorical and numeric columns and barcodes read back exactly', () => {
  const coords = Float32Array.from([0.5, -1, 2.25, 3, NaN, 4]);
  const columns: CellColumn[] = [
    { kind: 'categorical', name: 'cluster', role: 'cluster', categories: ['0', '1'], codes: Int32Array.from([1, 0, 1]) },
    { kind: 'categorical', name: 'platform, "run"', role: 'condition', categories: ['CEL-seq2', 'Drop-seq'], codes: Int32Array.from([0, -1, 1]) },
    { kind: 'numeric', name: 'pct_counts_mt', role: 'qc', values: Float32Array.from([1.5, NaN, 0]) },
  ];
  const barcodes = ['AAAC-1', 'çé\n"x"', ''];
  const table = decodeEmbedding(bufferOf(encodeEmbedding({ embedding: 'X_umap', coords, barcodes, columns })));
  assert.equal(table.nCells, 3);
  assert.equal(table.embedding, 'X_umap');
  assert.deepEqual(Array.from(table.coords), Array.from(coords));
  assert.deepEqual(
    barcodes.map((_, i) => table.barcode(i)),
    barcodes,
  );
  assert.deepEqual(
    table.columns.map((c) => ({ ...c, data: Array.from(c.kind === 'categorical' ? c.codes : c.values) })),
    columns.map((c) => ({ ...c, data: Array.from(c.kind === 'categorical' ? c.codes : c.values) })),
  );
});

test('embedding.bin: another kind of file, another version or a short file is refused', () => {
  const bytes = encodeEmbedding({ embedding: 'X_umap', coords: new Float32Array(4), barcodes: ['a', 'b'], columns: [] });
  assert.throws(() => decodeEmbedding(bufferOf(bytes.subarray(0, bytes.length - 8))), BlockFileError);
  const other = bytes.slice();
  other.set(new TextEncoder().encode('SCGX'), 0);
  assert.throws(() => decodeEmbedding(bufferOf(other)), /not a SCGE file/);
  const newer = bytes.slice();
  new DataView(newer.buffer).setUint32(4, 99, true);
  assert.throws(() => decodeEmbedding(bufferOf(newer)), /version 99; this build reads version 1/);
  assert.throws(() => encodeEmbedding({ embedding: 'X_umap', coords: new Float32Array(2), barcodes: ['a', 'b'], columns: [] }), /1 points for 2 cells/);
});

/** A random sparse cells x genes matrix; some genes are never detected. */
function randomCsr(nRows: number, nCols: number, density: number, seed: number): CsrMatrix {
  const random = mulberry32(seed);
  const indptr = new Int32Array(nRows + 1);
  const indices: number[] = [];
  const data: number[] = [];
  for (let r = 0; r < nRows; r++) {
    for (let c = 0; c < nCols; c++) {
      if (c % 7 !== 3 && random() < density) {
        indices.push(c);
        data.push(Math.fround(random() * 5));
      }
    }
    indptr[r + 1] = indices.length;
  }
  return { nRows, nCols, indptr, indices: Int32Array.from(indices), data: Float32Array.from(data) };
}

function column(matrix: CsrMatrix, gene: number): Float32Array {
  const dense = new Float32Array(matrix.nRows);
  for (let r = 0; r < matrix.nRows; r++) {
    for (let k = matrix.indptr[r]!; k < matrix.indptr[r + 1]!; k++) if (matrix.indices[k] === gene) dense[r] = matrix.data[k]!;
  }
  return dense;
}

function fileReader(path: string): RangeReader {
  return async (start, length) => {
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, start);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  };
}

test('expression.bin: every gene reads back as its column, written in one pass or in many', async () => {
  const dir = await tempDir();
  const matrix = randomCsr(60, 23, 0.3, 7);
  const genes = Array.from({ length: 23 }, (_, g) => `GENE${g}`);
  try {
    for (const passValues of [1_000_000, 17, 1]) {
      const path = join(dir, `expression-${passValues}.bin`);
      await writeExpressionFile(path, matrix, genes, passValues);
      const read = fileReader(path);
      const index = await readExpressionIndex(read);
      assert.equal(index.nCells, 60);
      assert.deepEqual(index.genes, genes);
      for (let g = 0; g < genes.length; g++) {
        assert.deepEqual(Array.from(await readGeneValues(read, index, index.column.get(`GENE${g}`)!)), Array.from(column(matrix, g)), `gene ${g} with a buffer of ${passValues}`);
      }
    }
    // The same matrix read in blocks of about 40 stored values, as a file's rows are.
    const blocks: RowBlocks = { nRows: 60, nCols: 23, eachBlock: (visit) => inMemoryBlocks(matrix).eachBlock(visit, 40) };
    await writeExpressionFile(join(dir, 'expression-blocks.bin'), blocks, genes, 17);
    const files = await Promise.all(['1000000', '1', 'blocks'].map((n) => readFile(join(dir, `expression-${n}.bin`))));
    assert.deepEqual(files[0], files[1], 'the buffer size does not change the file');
    assert.deepEqual(files[0], files[2], 'nor reading the matrix by blocks of rows');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('expression.bin: a truncated file is refused, not read as zeros', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir, 'expression.bin');
    const matrix = randomCsr(30, 5, 0.5, 3);
    await writeExpressionFile(path, matrix, ['a', 'b', 'c', 'd', 'e']);
    const whole = await readFile(path);
    await writeFile(path, whole.subarray(0, whole.length - 40));
    const read = fileReader(path);
    const index = await readExpressionIndex(read);
    await assert.rejects(readGeneValues(read, index, 4), /expression file is truncated/);
    await writeFile(path, whole.subarray(0, 20));
    await assert.rejects(readExpressionIndex(read), /truncated/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('CSV: what toCsv writes, parseCsv reads back, quotes, commas and line breaks included', () => {
  const rows = [
    ['a', 'b,c', 'say "hi"'],
    ['line\nbreak', '', '3.5'],
  ];
  assert.deepEqual(parseCsv(toCsv(['x', 'y', 'z'], rows)), [['x', 'y', 'z'], ...rows]);
  assert.deepEqual(parseCsv('p,q\r\n1,2\r\n'), [['p', 'q'], ['1', '2']]);
});
