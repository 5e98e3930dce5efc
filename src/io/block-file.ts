/**
 * A binary file of typed-array blocks behind a JSON header, read without parsing (typed-array views) in Node and
 * in the browser: the embedding file and the gene-major expression file share it. Layout, little-endian:
 *   bytes 0-3   magic (4 ASCII characters naming the kind of file)
 *   bytes 4-7   uint32 format version
 *   bytes 8-11  uint32 header length H; the header is UTF-8 JSON, space-padded so the data starts at a multiple of 8
 *   12 + H ...  the blocks, each at header.blocks[name].offset from the data start (a multiple of 8)
 * No Node or DOM APIs here: the page imports it too.
 */

export const BLOCK_DTYPES = { float32: Float32Array, int32: Int32Array, uint32: Uint32Array, uint8: Uint8Array } as const;
export type BlockDtype = keyof typeof BLOCK_DTYPES;
export type BlockArray = Float32Array | Int32Array | Uint32Array | Uint8Array;

export interface BlockSpec {
  readonly dtype: BlockDtype;
  /** Elements, not bytes. */
  readonly length: number;
}

export interface BlockPlace extends BlockSpec {
  /** Bytes from the start of the data section. */
  readonly offset: number;
}

/** What every header holds besides the kind's own fields. */
export interface BlockHeader {
  readonly blocks: Record<string, BlockPlace>;
}

export const PREAMBLE_BYTES = 12;
const ALIGN = 8;
/** A header longer than this means a damaged file, not a real one: refused before allocating it. */
const MAX_HEADER_BYTES = 64 * 1024 * 1024;

export class BlockFileError extends Error {
  override readonly name = 'BlockFileError';
}

const alignUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

function bytesOf(spec: BlockSpec): number {
  return spec.length * BLOCK_DTYPES[spec.dtype].BYTES_PER_ELEMENT;
}

/** The preamble and header of a file with these blocks, in this order, and where the data starts. */
export function blockFileHead<H extends object>(
  magic: string,
  version: number,
  header: H,
  blocks: Record<string, BlockSpec>,
): { head: Uint8Array; header: H & BlockHeader; dataStart: number; dataBytes: number } {
  if (!/^[A-Z0-9]{4}$/.test(magic)) throw new RangeError(`block file magic must be 4 capitals or digits, got '${magic}'`);
  const places: Record<string, BlockPlace> = {};
  let offset = 0;
  for (const [name, spec] of Object.entries(blocks)) {
    places[name] = { dtype: spec.dtype, length: spec.length, offset };
    offset = alignUp(offset + bytesOf(spec));
  }
  const full = { ...header, blocks: places };
  const json = new TextEncoder().encode(JSON.stringify(full));
  const dataStart = alignUp(PREAMBLE_BYTES + json.length);
  const head = new Uint8Array(dataStart).fill(0x20);
  head.set(new TextEncoder().encode(magic), 0);
  const view = new DataView(head.buffer);
  view.setUint32(4, version, true);
  view.setUint32(8, dataStart - PREAMBLE_BYTES, true);
  head.set(json, PREAMBLE_BYTES);
  return { head, header: full, dataStart, dataBytes: offset };
}

/** A whole file in memory: the head followed by each block's bytes at its place. */
export function encodeBlockFile<H extends object>(magic: string, version: number, header: H, blocks: Record<string, BlockArray>): Uint8Array {
  const specs = Object.fromEntries(Object.entries(blocks).map(([name, array]) => [name, { dtype: dtypeOf(array), length: array.length }]));
  const { head, header: full, dataStart, dataBytes } = blockFileHead(magic, version, header, specs);
  const file = new Uint8Array(dataStart + dataBytes);
  file.set(head, 0);
  for (const [name, array] of Object.entries(blocks)) {
    file.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), dataStart + full.blocks[name]!.offset);
  }
  return file;
}

function dtypeOf(array: BlockArray): BlockDtype {
  for (const [dtype, type] of Object.entries(BLOCK_DTYPES)) if (array instanceof type) return dtype as BlockDtype;
  throw new RangeError('unsupported block array type');
}

/** The header length the preamble states, after checking the magic and version. */
export function readPreamble(preamble: Uint8Array, magic: string, version: number): number {
  if (preamble.length < PREAMBLE_BYTES) throw new BlockFileError(`not a ${magic} file: ${preamble.length} bytes`);
  const found = new TextDecoder().decode(preamble.subarray(0, 4));
  if (found !== magic) throw new BlockFileError(`not a ${magic} file (magic '${found}')`);
  const view = new DataView(preamble.buffer, preamble.byteOffset, PREAMBLE_BYTES);
  const foundVersion = view.getUint32(4, true);
  if (foundVersion !== version) throw new BlockFileError(`${magic} file version ${foundVersion}; this build reads version ${version}`);
  const headerBytes = view.getUint32(8, true);
  if (headerBytes > MAX_HEADER_BYTES) throw new BlockFileError(`${magic} file header of ${headerBytes} bytes: the file is damaged`);
  return headerBytes;
}

export function parseHeader<H extends BlockHeader>(bytes: Uint8Array): H {
  const header = JSON.parse(new TextDecoder().decode(bytes)) as H;
  if (typeof header !== 'object' || header === null || typeof header.blocks !== 'object') throw new BlockFileError('block file header has no blocks');
  return header;
}

/** Views of every block of a file held whole in memory (no copies: the buffer is 8-byte aligned by construction). */
export function decodeBlockFile<H extends BlockHeader>(buffer: ArrayBuffer, magic: string, version: number): { header: H; blocks: Record<string, BlockArray> } {
  const bytes = new Uint8Array(buffer);
  const headerBytes = readPreamble(bytes, magic, version);
  const dataStart = PREAMBLE_BYTES + headerBytes;
  const header = parseHeader<H>(bytes.subarray(PREAMBLE_BYTES, dataStart));
  const blocks: Record<string, BlockArray> = {};
  for (const [name, place] of Object.entries(header.blocks)) {
    const type = BLOCK_DTYPES[place.dtype];
    if (!type) throw new BlockFileError(`block ${name} has an unknown dtype '${place.dtype}'`);
    const start = dataStart + place.offset;
    if (start % type.BYTES_PER_ELEMENT !== 0 || start + place.length * type.BYTES_PER_ELEMENT > buffer.byteLength) {
      throw new BlockFileError(`block ${name} lies outside the file (${buffer.byteLength} bytes)`);
    }
    blocks[name] = new type(buffer, start, place.length);
  }
  return { header, blocks };
}
