/**
 * expression.bin: the log-normalised matrix stored gene by gene (compressed sparse columns), a block file of magic
 * 'SCGX', so one gene's values for every cell are two small reads: `indptr` (uint32, genes + 1), then that gene's
 * slice of `cells` (uint32 cell indices) and `values` (float32). The gene names are in the header.
 */
import { open } from 'node:fs/promises';
import { atomically } from './atomic.js';
import { BLOCK_DTYPES, blockFileHead, BlockFileError, parseHeader, PREAMBLE_BYTES, readPreamble, type BlockHeader } from './block-file.js';
import type { CsrMatrix } from './types.js';

export const EXPRESSION_MAGIC = 'SCGX';
export const EXPRESSION_VERSION = 1;

/** Stored values gathered per pass while writing (two 4-byte arrays each): bounds the writer's extra memory. */
const DEFAULT_PASS_VALUES = 32 * 1024 * 1024;

interface ExpressionHeader extends BlockHeader {
  n_cells: number;
  genes: string[];
}

/**
 * Writes `matrix` (cells x genes, CSR) gene-major to `path`, atomically. Genes are gathered in passes over the
 * matrix, each holding at most `passValues` stored values, so memory stays bounded whatever the matrix size.
 */
export async function writeExpressionFile(path: string, matrix: CsrMatrix, genes: readonly string[], passValues = DEFAULT_PASS_VALUES): Promise<void> {
  if (genes.length !== matrix.nCols) throw new RangeError(`expression: ${genes.length} gene names for ${matrix.nCols} columns`);
  const nnz = matrix.indptr[matrix.nRows]!;
  const indptr = new Uint32Array(matrix.nCols + 1);
  for (let k = 0; k < nnz; k++) indptr[matrix.indices[k]! + 1]!++;
  for (let g = 0; g < matrix.nCols; g++) indptr[g + 1]! += indptr[g]!;

  const { head, header, dataStart } = blockFileHead(EXPRESSION_MAGIC, EXPRESSION_VERSION, { n_cells: matrix.nRows, genes: [...genes] }, {
    indptr: { dtype: 'uint32', length: indptr.length },
    cells: { dtype: 'uint32', length: nnz },
    values: { dtype: 'float32', length: nnz },
  });
  const cellsAt = dataStart + header.blocks.cells!.offset;
  const valuesAt = dataStart + header.blocks.values!.offset;

  await atomically(path, async (temporary) => {
    const file = await open(temporary, 'wx');
    try {
      await file.write(head, 0, head.length, 0);
      await file.write(new Uint8Array(indptr.buffer), 0, indptr.byteLength, dataStart + header.blocks.indptr!.offset);
      for (let first = 0; first < matrix.nCols; ) {
        // The genes [first, last) whose values fit one pass (at least one gene, however many cells express it).
        let last = first + 1;
        while (last < matrix.nCols && indptr[last + 1]! - indptr[first]! <= passValues) last++;
        const base = indptr[first]!;
        const count = indptr[last]! - base;
        const cells = new Uint32Array(count);
        const values = new Float32Array(count);
        const next = indptr.slice(first, last);
        for (let cell = 0; cell < matrix.nRows; cell++) {
          for (let k = matrix.indptr[cell]!; k < matrix.indptr[cell + 1]!; k++) {
            const gene = matrix.indices[k]!;
            if (gene < first || gene >= last) continue;
            const slot = next[gene - first]!++ - base;
            cells[slot] = cell;
            values[slot] = matrix.data[k]!;
          }
        }
        await file.write(new Uint8Array(cells.buffer), 0, cells.byteLength, cellsAt + base * 4);
        await file.write(new Uint8Array(values.buffer), 0, values.byteLength, valuesAt + base * 4);
        first = last;
      }
    } finally {
      await file.close();
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
