/**
 * embedding.bin: a job's cells as the page draws them, a block file (block-file.ts) of magic 'SCGE': the 2-d
 * embedding (float32, x and y interleaved), each categorical annotation's codes (int32, -1 = missing) and each
 * numeric annotation's values (float32, NaN = missing), and the barcodes (uint32 offsets into UTF-8 bytes).
 */
import { decodeBlockFile, encodeBlockFile, BlockFileError, type BlockArray, type BlockHeader } from './block-file.js';

export const EMBEDDING_MAGIC = 'SCGE';
export const EMBEDDING_VERSION = 1;

/** What a column means to a reader: the clusters, a condition or label the model was given, a per-cell score or QC metric. */
export type CellColumnRole = 'cluster' | 'condition' | 'label' | 'score' | 'qc';

export type CellColumn =
  | { readonly kind: 'categorical'; readonly name: string; readonly role: CellColumnRole; readonly categories: readonly string[]; readonly codes: Int32Array }
  | { readonly kind: 'numeric'; readonly name: string; readonly role: CellColumnRole; readonly values: Float32Array };

export interface EmbeddingTable {
  readonly nCells: number;
  /** Name of the embedding, e.g. X_umap. */
  readonly embedding: string;
  /** 2 * nCells: x0, y0, x1, y1, ... */
  readonly coords: Float32Array;
  readonly columns: readonly CellColumn[];
  barcode(cell: number): string;
}

interface ColumnEntry {
  name: string;
  role: CellColumnRole;
  kind: 'categorical' | 'numeric';
  categories?: string[];
}

interface EmbeddingHeader extends BlockHeader {
  n_cells: number;
  embedding: string;
  columns: ColumnEntry[];
}

/** The bytes of embedding.bin. */
export function encodeEmbedding(table: { embedding: string; coords: Float32Array; barcodes: readonly string[]; columns: readonly CellColumn[] }): Uint8Array {
  const nCells = table.barcodes.length;
  if (table.coords.length !== 2 * nCells) throw new RangeError(`embedding: ${table.coords.length / 2} points for ${nCells} cells`);
  const encoder = new TextEncoder();
  const encoded = table.barcodes.map((barcode) => encoder.encode(barcode));
  const barcodeOffsets = new Uint32Array(nCells + 1);
  encoded.forEach((bytes, i) => (barcodeOffsets[i + 1] = barcodeOffsets[i]! + bytes.length));
  const barcodeBytes = new Uint8Array(barcodeOffsets[nCells]!);
  encoded.forEach((bytes, i) => barcodeBytes.set(bytes, barcodeOffsets[i]!));

  const blocks: Record<string, BlockArray> = { coords: table.coords, barcode_offsets: barcodeOffsets, barcode_bytes: barcodeBytes };
  const columns: ColumnEntry[] = table.columns.map((column, i) => {
    const data = column.kind === 'categorical' ? column.codes : column.values;
    if (data.length !== nCells) throw new RangeError(`embedding: column ${column.name} has ${data.length} values for ${nCells} cells`);
    blocks[`column_${i}`] = data;
    return { name: column.name, role: column.role, kind: column.kind, ...(column.kind === 'categorical' ? { categories: [...column.categories] } : {}) };
  });
  return encodeBlockFile(EMBEDDING_MAGIC, EMBEDDING_VERSION, { n_cells: nCells, embedding: table.embedding, columns }, blocks);
}

/** embedding.bin as views into `buffer`; barcodes are decoded one at a time, when asked for. */
export function decodeEmbedding(buffer: ArrayBuffer): EmbeddingTable {
  const { header, blocks } = decodeBlockFile<EmbeddingHeader>(buffer, EMBEDDING_MAGIC, EMBEDDING_VERSION);
  const block = <T extends BlockArray>(name: string, type: { new (...args: never[]): T }, length: number): T => {
    const array = blocks[name];
    if (!(array instanceof type) || array.length !== length) throw new BlockFileError(`embedding: block ${name} is missing or has the wrong type or length`);
    return array;
  };
  const nCells = header.n_cells;
  const coords = block('coords', Float32Array, 2 * nCells);
  const offsets = block('barcode_offsets', Uint32Array, nCells + 1);
  const bytes = blocks['barcode_bytes'];
  if (!(bytes instanceof Uint8Array) || bytes.length !== offsets[nCells]) throw new BlockFileError('embedding: barcode bytes do not match their offsets');
  const decoder = new TextDecoder();
  const columns = header.columns.map((entry, i): CellColumn =>
    entry.kind === 'categorical'
      ? { kind: 'categorical', name: entry.name, role: entry.role, categories: entry.categories ?? [], codes: block(`column_${i}`, Int32Array, nCells) }
      : { kind: 'numeric', name: entry.name, role: entry.role, values: block(`column_${i}`, Float32Array, nCells) },
  );
  return {
    nCells,
    embedding: header.embedding,
    coords,
    columns,
    barcode: (cell) => decoder.decode(bytes.subarray(offsets[cell]!, offsets[cell + 1]!)),
  };
}
