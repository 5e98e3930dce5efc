/**
 * expression.bin: the log-normalised matrix stored gene by gene (compressed sparse columns), a block file of magic
 * 'SCGX', so one gene's values for every cell are two small reads: `indptr` (uint32, genes + 1), then that gene's
 * slice of `cells` (uint32 cell indices, ascending) and `values` (float32). The gene names are in the header.
 */
import { closeSync, openSync } from 'node:fs';
import { atomically } from './atomic.js';
import { writeAllSync } from './fd.js';
import { BLOCK_DTYPES, blockFileHead, BlockFileError, parseHeader, PREAMBLE_BYTES, readPreamble, type BlockHeader } from './block-file.js';
import { asRowBlocks, type RowBlocks } from './row-blocks.js';
import type { CsrMatrix } from './types.js';

export const EXPRESSION_MAGIC = 'SCGX';
export const EXPRESSION_VERSION = 1;

/** Stored values buffered while writing (two 4-byte arrays each): bounds the writer's extra memory. */
const DEFAULT_BUFFER_VALUES = 32 * 1024 * 1024;

/** Gene ranges the buffer is split into: each range's values are flushed to the file together, gene by gene. */
const GENE_RANGES = 64;

interface ExpressionHeader extends BlockHeader {
  n_cells: number;
  genes: string[];
}

/** Consecutive gene ranges [first, last) of about nnz / GENE_RANGES stored values each (a gene never split). */
function geneRanges(indptr: Uint32Array, nGenes: number): Array<[number, number]> {
  const target = Math.max(1, Math.ceil(indptr[nGenes]! / GENE_RANGES));
  const ranges: Array<[number, number]> = [];
  for (let first = 0; first < nGenes; ) {
    let last = first + 1;
    while (last < nGenes && indptr[last + 1]! - indptr[first]! <= target) last++;
    ranges.push([first, last]);
    first = last;
  }
  return ranges;
}

/**
 * Writes `source` (cells x genes, CSR or by blocks of rows) gene-major to `path`, atomically, in two passes: one
 * counts each gene's cells, the next buffers each gene range's values (at most `bufferValues` in all) and writes a
 * full range's genes to their places in the file, so memory stays bounded whatever the matrix size.
 */
export async function writeExpressionFile(path: string, source: CsrMatrix | RowBlocks, genes: readonly string[], bufferValues = DEFAULT_BUFFER_VALUES): Promise<void> {
  const blocks = asRowBlocks(source);
  const { nRows, nCols } = blocks;
  if (genes.length !== nCols) throw new RangeError(`expression: ${genes.length} gene names for ${nCols} columns`);
  const indptr = new Uint32Array(nCols + 1);
  blocks.eachBlock(({ nRows: n, indptr: rows, indices }) => {
    for (let k = 0; k < rows[n]!; k++) indptr[indices[k]! + 1]!++;
  });
  for (let g = 0; g < nCols; g++) indptr[g + 1]! += indptr[g]!;
  const nnz = indptr[nCols]!;

  const { head, header, dataStart } = blockFileHead(EXPRESSION_MAGIC, EXPRESSION_VERSION, { n_cells: nRows, genes: [...genes] }, {
    indptr: { dtype: 'uint32', length: indptr.length },
    cells: { dtype: 'uint32', length: nnz },
    values: { dtype: 'float32', length: nnz },
  });
  const cellsAt = dataStart + header.blocks.cells!.offset;
  const valuesAt = dataStart + header.blocks.values!.offset;
  const ranges = geneRanges(indptr, nCols);
  const rangeOf = new Uint16Array(nCols);
  ranges.forEach(([first, last], i) => rangeOf.fill(i, first, last));
  const share = Math.max(1, Math.floor(bufferValues / ranges.length));

  await atomically(path, async (temporary) => {
    const fd = openSync(temporary, 'wx');
    try {
      writeAllSync(fd, head, 0);
      writeAllSync(fd, indptr, dataStart + header.blocks.indptr!.offset);
      // Each range's buffered entries (gene, cell, value) in cell order; `written` counts each gene's values already in the file.
      const buffered = ranges.map(([first, last]) => {
        const capacity = Math.max(1, Math.min(share, indptr[last]! - indptr[first]!));
        return { length: 0, capacity, genes: new Uint32Array(capacity), cells: new Uint32Array(capacity), values: new Float32Array(capacity) };
      });
      const written = new Uint32Array(nCols);
      const flush = (range: number) => {
        const buffer = buffered[range]!;
        const [first, last] = ranges[range]!;
        const starts = new Uint32Array(last - first + 1);
        for (let e = 0; e < buffer.length; e++) starts[buffer.genes[e]! - first + 1]!++;
        for (let g = 0; g < last - first; g++) starts[g + 1]! += starts[g]!;
        const cells = new Uint32Array(buffer.length);
        const values = new Float32Array(buffer.length);
        const next = starts.slice(0, -1);
        for (let e = 0; e < buffer.length; e++) {
          const slot = next[buffer.genes[e]! - first]!++;
          cells[slot] = buffer.cells[e]!;
          values[slot] = buffer.values[e]!;
        }
        for (let g = first; g < last; g++) {
          const [from, to] = [starts[g - first]!, starts[g - first + 1]!];
          if (from === to) continue;
          const at = (indptr[g]! + written[g]!) * 4;
          writeAllSync(fd, cells.subarray(from, to), cellsAt + at);
          writeAllSync(fd, values.subarray(from, to), valuesAt + at);
          written[g]! += to - from;
        }
        buffer.length = 0;
      };
      blocks.eachBlock(({ nRows: n, indptr: rows, indices, data }, firstRow) => {
        for (let r = 0; r < n; r++) {
          for (let k = rows[r]!; k < rows[r + 1]!; k++) {
            const gene = indices[k]!;
            const range = rangeOf[gene]!;
            const buffer = buffered[range]!;
            buffer.genes[buffer.length] = gene;
            buffer.cells[buffer.length] = firstRow + r;
            buffer.values[buffer.length] = data[k]!;
            if (++buffer.length === buffer.capacity) flush(range);
          }
        }
      });
      buffered.forEach((_, range) => flush(range));
    } finally {
      closeSync(fd);
    }
  });
}

/** Reads `length` bytes at `start` of the file (from disk, or any store that serves ranges). */
export type RangeReader = (start: number, length: number) => Promise<Uint8Array>;

export interface ExpressionIndex {
  readonly nCells: number;
  readonly genes: readonly string[];
  /** Gene name -> column. */
  readonly column: ReadonlyMap<string, number>;
  readonly indptrAt: number;
  readonly cellsAt: number;
  readonly valuesAt: number;
}

async function readExactly(read: RangeReader, start: number, length: number): Promise<Uint8Array> {
  const bytes = await read(start, length);
  if (bytes.length !== length) throw new BlockFileError(`expression file is truncated (wanted ${length} bytes at ${start}, got ${bytes.length})`);
  // A fresh, aligned copy: typed-array views need their element size's alignment.
  return bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
}

/** The header of expression.bin: its genes and where the blocks are. */
export async function readExpressionIndex(read: RangeReader): Promise<ExpressionIndex> {
  const headerBytes = readPreamble(await readExactly(read, 0, PREAMBLE_BYTES), EXPRESSION_MAGIC, EXPRESSION_VERSION);
  const header = parseHeader<ExpressionHeader>(await readExactly(read, PREAMBLE_BYTES, headerBytes));
  const dataStart = PREAMBLE_BYTES + headerBytes;
  const { indptr, cells, values } = header.blocks;
  if (!indptr || !cells || !values || !Array.isArray(header.genes) || indptr.length !== header.genes.length + 1) {
    throw new BlockFileError('expression file header lacks its genes or blocks');
  }
  return {
    nCells: header.n_cells,
    genes: header.genes,
    column: new Map(header.genes.map((gene, g) => [gene, g])),
    indptrAt: dataStart + indptr.offset,
    cellsAt: dataStart + cells.offset,
    valuesAt: dataStart + values.offset,
  };
}

/** One gene's values for every cell, zeros where it was not detected. */
export async function readGeneValues(read: RangeReader, index: ExpressionIndex, gene: number): Promise<Float32Array> {
  const spanBytes = await readExactly(read, index.indptrAt + gene * 4, 8);
  const span = new BLOCK_DTYPES.uint32(spanBytes.buffer, spanBytes.byteOffset, 2);
  const count = span[1]! - span[0]!;
  const dense = new Float32Array(index.nCells);
  if (count === 0) return dense;
  const [cellBytes, valueBytes] = await Promise.all([
    readExactly(read, index.cellsAt + span[0]! * 4, count * 4),
    readExactly(read, index.valuesAt + span[0]! * 4, count * 4),
  ]);
  const cells = new BLOCK_DTYPES.uint32(cellBytes.buffer, cellBytes.byteOffset, count);
  const values = new BLOCK_DTYPES.float32(valueBytes.buffer, valueBytes.byteOffset, count);
  for (let k = 0; k < count; k++) {
    const cell = cells[k]!;
    if (cell >= index.nCells) throw new BlockFileError(`expression file names cell ${cell} of ${index.nCells}`);
    dense[cell] = values[k]!;
  }
  return dense;
}
