/**
 * A matrix read by blocks whose first pass also writes each decoded block to a temporary file, so that later
 * passes read its bytes back instead of decompressing the dataset again: a streaming preprocess makes several.
 */
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
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

function bytesOf(array: Int32Array | Float32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

function readInto<T extends Int32Array | Float32Array>(fd: number, array: T, position: number): T {
  const bytes = bytesOf(array);
  for (let done = 0; done < bytes.length; ) {
    const read = readSync(fd, bytes, done, bytes.length - done, position + done);
    if (read === 0) throw new Error(`block cache: the file ends ${bytes.length - done} bytes early`);
    done += read;
  }
  return array;
}

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
          const bytes = bytesOf(array);
          for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, offset + done);
          offset += bytes.length;
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
