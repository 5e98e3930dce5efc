/**
 * A matrix read by blocks whose first pass also writes each decoded block to a temporary file, so that later
 * passes read its bytes back instead of decompressing the dataset again: a streaming preprocess makes several.
 */
import { closeSync, openSync, rmSync } from 'node:fs';
import { readAllSync, writeAllSync } from './fd.js';
import type { RowBlocks } from './row-blocks.js';
import type { CsrMatrix } from './types.js';

/** Where a cached block lies in the file: its first row, rows and stored values, and the byte offset of its indptr. */
interface CachedBlock {
  readonly first: number;
  readonly nRows: number;
  readonly nnz: number;
  readonly offset: number;
}

export interface BlockCache extends RowBlocks {
  /** Deletes the file; the cache must not be read afterwards. */
  dispose(): void;
}

const readInto = <T extends Int32Array | Float32Array>(fd: number, array: T, position: number) => readAllSync(fd, array, position, 'block cache');

/** `source` read once through a cache file at `path` (created anew; the caller disposes of it). */
export function cachedBlocks(source: RowBlocks, path: string): BlockCache {
  const fd = openSync(path, 'w+', 0o600);
  let blocks: CachedBlock[] | null = null;
  let disposed = false;
  return {
    nRows: source.nRows,
    nCols: source.nCols,
    eachBlock: (visit, maxValues) => {
      if (disposed) throw new Error('block cache: read after dispose');
      if (blocks) {
        for (const { first, nRows, nnz, offset } of blocks) {
          const indptr = readInto(fd, new Int32Array(nRows + 1), offset);
          const indices = readInto(fd, new Int32Array(nnz), offset + 4 * (nRows + 1));
          const data = readInto(fd, new Float32Array(nnz), offset + 4 * (nRows + 1 + nnz));
          visit({ nRows, nCols: source.nCols, indptr, indices, data }, first);
        }
        return;
      }
      // The first pass: the source's blocks are written as they are visited; only a complete pass is kept.
      const written: CachedBlock[] = [];
      let offset = 0;
      source.eachBlock((block: CsrMatrix, first) => {
        const nnz = block.indptr[block.nRows]!;
        for (const array of [block.indptr, block.indices.subarray(0, nnz), block.data.subarray(0, nnz)]) {
          writeAllSync(fd, array, offset);
          offset += array.byteLength;
        }
        written.push({ first, nRows: block.nRows, nnz, offset: offset - 4 * (block.nRows + 1 + 2 * nnz) });
        visit(block, first);
      }, maxValues);
      blocks = written;
    },
    dispose: () => {
      if (disposed) return;
      disposed = true;
      closeSync(fd);
      rmSync(path, { force: true });
    },
  };
}

/** A cache made on demand at `path` (preprocessHighlyVariable's `cache`), and the disposal of whatever was made. */
export function cacheAt(path: string): { readonly make: (source: RowBlocks) => BlockCache; dispose(): void } {
  let made: BlockCache | undefined;
  return { make: (source) => (made = cachedBlocks(source, path)), dispose: () => made?.dispose() };
}
