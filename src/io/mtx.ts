import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { gunzipLimited } from './decompress.js';
import { DatasetError } from './errors.js';
import { assertFitsInMemory, validateCsr } from './sparse.js';
import type { CsrMatrix } from './types.js';

/** A file inside a 10x MTX folder or archive, readable as a stream of bytes. */
export interface MtxFile {
  readonly path: string;
  open(): AsyncIterable<Buffer>;
}

/** The three files of a 10x MTX dataset. */
export interface MtxFiles {
  readonly matrix: MtxFile;
  readonly barcodes: MtxFile;
  readonly features: MtxFile;
}

const GZIP_MAGIC = [0x1f, 0x8b];

/** Yields the decompressed bytes (within the decompression limits) when the stream starts with the gzip magic, else the bytes as they are. */
async function* decompressed(chunks: AsyncIterable<Buffer>, what: string): AsyncIterable<Buffer> {
  const iterator = chunks[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  const rest = (async function* () {
    yield first.value;
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value;
  })();
  if (first.value[0] !== GZIP_MAGIC[0] || first.value[1] !== GZIP_MAGIC[1]) {
    yield* rest;
    return;
  }
  try {
    yield* gunzipLimited(rest, what);
  } catch (error) {
    if (error instanceof DatasetError) throw error;
    throw new DatasetError('truncated', `gzip data is damaged or truncated (${(error as Error).message})`);
  }
}

/** Yields lines (without \r\n) of a possibly gzipped text stream. */
async function* lines(file: MtxFile): AsyncIterable<string> {
  let carry = '';
  for await (const chunk of decompressed(file.open(), file.path)) {
    const text = carry + chunk.toString('utf8');
    const parts = text.split('\n');
    carry = parts.pop()!;
    for (const line of parts) yield line.endsWith('\r') ? line.slice(0, -1) : line;
  }
  if (carry.length > 0) yield carry.endsWith('\r') ? carry.slice(0, -1) : carry;
}

/** Reads a tab-separated file into rows of fields, dropping blank lines. */
export async function readTsv(file: MtxFile): Promise<string[][]> {
  const rows: string[][] = [];
  for await (const line of lines(file)) if (line.length > 0) rows.push(line.split('\t'));
  return rows;
}

const HEADER = /^%%MatrixMarket\s+matrix\s+coordinate\s+(integer|real|pattern)\s+general\s*$/i;
const NEWLINE = 10;

/** Calls `onLine` with each line of a possibly gzipped stream as bytes[start, end), without decoding it. */
async function forEachLine(file: MtxFile, onLine: (bytes: Buffer, start: number, end: number) => void): Promise<void> {
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of decompressed(file.open(), file.path)) {
    const bytes = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let i = bytes.indexOf(NEWLINE); i >= 0; i = bytes.indexOf(NEWLINE, start)) {
      onLine(bytes, start, i > start && bytes[i - 1] === 13 ? i - 1 : i);
      start = i + 1;
    }
    carry = bytes.subarray(start);
  }
  if (carry.length > 0) onLine(carry, 0, carry[carry.length - 1] === 13 ? carry.length - 1 : carry.length);
}

/**
 * Parses up to `out.length` whitespace-separated numbers of bytes[start, end) into `out`;
 * returns how many it found. Plain digits take a fast path; anything else goes to Number().
 */
function parseNumbers(bytes: Buffer, start: number, end: number, out: Float64Array): number {
  let n = 0;
  let i = start;
  while (i < end && n < out.length) {
    while (i < end && (bytes[i] === 32 || bytes[i] === 9)) i++;
    if (i >= end) break;
    const tokenStart = i;
    let value = 0;
    let plain = true;
    for (; i < end && bytes[i] !== 32 && bytes[i] !== 9; i++) {
      const digit = bytes[i]! - 48;
      if (digit >= 0 && digit <= 9) value = value * 10 + digit;
      else plain = false;
    }
    out[n++] = plain ? value : Number(bytes.toString('latin1', tokenStart, i));
  }
  while (i < end && (bytes[i] === 32 || bytes[i] === 9)) i++;
  return i < end ? out.length + 1 : n;
}

/**
 * Parses a Matrix Market coordinate file of genes x cells (10x's orientation) into the CSR of
 * cells x genes. Entries stream through a byte-level parser, so the text is never held whole.
 */
export async function readMatrixMarket(file: MtxFile): Promise<CsrMatrix & { field: string }> {
  let field = '';
  let nGenes = -1;
  let nCells = -1;
  let declared = 0;
  let count = 0;
  let geneOf = new Int32Array(0);
  let cellOf = new Int32Array(0);
  let valueOf = new Float32Array(0);
  let lineNumber = 0;
  let sawHeader = false;
  const fields = new Float64Array(3);
  const where = () => `${file.path} line ${lineNumber}`;

  await forEachLine(file, (bytes, start, end) => {
    lineNumber++;
    if (!sawHeader) {
      const line = bytes.toString('utf8', start, end);
      const match = HEADER.exec(line.trim());
      if (!match) {
        throw new DatasetError(
          'unsupported_layout',
          `${file.path} does not start with a "%%MatrixMarket matrix coordinate integer|real|pattern general" header (found "${line.slice(0, 80)}")`,
        );
      }
      field = match[1]!.toLowerCase();
      sawHeader = true;
      return;
    }
    if (bytes[start] === 37 /* % */) return;
    const found = parseNumbers(bytes, start, end, fields);
    if (found === 0) return;
    if (nGenes < 0) {
      [nGenes, nCells, declared] = [fields[0]!, fields[1]!, fields[2]!];
      if (found !== 3 || ![nGenes, nCells, declared].every((n) => Number.isInteger(n) && n >= 0)) {
        throw new DatasetError('unsupported_layout', `${where()}: the size line must hold three non-negative integers (rows columns entries), found "${bytes.toString('utf8', start, end)}"`);
      }
      assertFitsInMemory(declared, file.path);
      geneOf = new Int32Array(declared);
      cellOf = new Int32Array(declared);
      valueOf = new Float32Array(declared);
      return;
    }
    if (count >= declared) {
      throw new DatasetError('inconsistent_shape', `${where()}: more entries than the ${declared} the header declares`);
    }
    if (found !== (field === 'pattern' ? 2 : 3)) {
      throw new DatasetError('unsupported_layout', `${where()}: expected ${field === 'pattern' ? 'two' : 'three'} numbers, found "${bytes.toString('utf8', start, end)}"`);
    }
    const gene = fields[0]!;
    const cell = fields[1]!;
    const value = field === 'pattern' ? 1 : fields[2]!;
    if (!(Number.isInteger(gene) && gene >= 1 && gene <= nGenes && Number.isInteger(cell) && cell >= 1 && cell <= nCells)) {
      throw new DatasetError('inconsistent_shape', `${where()}: entry "${bytes.toString('utf8', start, end)}" lies outside the declared ${nGenes} x ${nCells} matrix`);
    }
    if (!Number.isFinite(value)) {
      throw new DatasetError('invalid_value', `${where()}: value in "${bytes.toString('utf8', start, end)}" is not a finite number`);
    }
    if (value < 0) {
      throw new DatasetError('invalid_value', `${where()}: value ${value} is negative; a 10x matrix holds counts`);
    }
    geneOf[count] = gene - 1;
    cellOf[count] = cell - 1;
    valueOf[count++] = value;
  });
  if (!sawHeader) throw new DatasetError('empty', `${file.path} is empty`);
  if (nGenes < 0) throw new DatasetError('truncated', `${file.path} ends before its size line`);
  if (count !== declared) {
    throw new DatasetError('inconsistent_shape', `${file.path} declares ${declared} entries but holds ${count}: the file is truncated or its header is wrong`);
  }

  const indptr = new Int32Array(nCells + 1);
  for (let k = 0; k < count; k++) indptr[cellOf[k]! + 1]!++;
  for (let c = 0; c < nCells; c++) indptr[c + 1]! += indptr[c]!;
  const next = indptr.slice(0, nCells);
  const indices = new Int32Array(count);
  const data = new Float32Array(count);
  for (let k = 0; k < count; k++) {
    const slot = next[cellOf[k]!]!++;
    indices[slot] = geneOf[k]!;
    data[slot] = valueOf[k]!;
  }
  const matrix = validateCsr({ nRows: nCells, nCols: nGenes, indptr, indices, data }, file.path);
  return { ...matrix, field };
}

const MATRIX_NAME = /^matrix\.mtx(\.gz)?$/;
const BARCODES_NAME = /^barcodes\.tsv(\.gz)?$/;
const FEATURES_NAME = /^(features|genes)\.tsv(\.gz)?$/;

/** macOS and editor debris that archives of 10x folders often carry. */
export function isJunkEntry(path: string): boolean {
  const parts = path.split('/');
  const base = parts.at(-1)!;
  return parts.includes('__MACOSX') || base.startsWith('._') || base === '.DS_Store' || base === 'Thumbs.db';
}

/** Finds the one folder holding matrix, barcodes and features among the given paths. */
export function locateMtxFiles(files: readonly MtxFile[], where: string): MtxFiles {
  const usable = files.filter((f) => !isJunkEntry(f.path));
  const folders = [...new Set(usable.filter((f) => MATRIX_NAME.test(posix.basename(f.path))).map((f) => posix.dirname(f.path)))];
  if (folders.length === 0) {
    throw new DatasetError('missing_element', `${where} holds no matrix.mtx or matrix.mtx.gz`);
  }
  if (folders.length > 1) {
    throw new DatasetError('ambiguous_choice', `${where} holds several 10x matrices (${folders.join(', ')}); upload one folder at a time`);
  }
  const inFolder = usable.filter((f) => posix.dirname(f.path) === folders[0]);
  return { matrix: inFolder.find((f) => MATRIX_NAME.test(posix.basename(f.path)))!, ...companions(inFolder, where) };
}

/** Picks barcodes and features among the files of the matrix's folder. */
function companions(inFolder: readonly MtxFile[], where: string): Omit<MtxFiles, 'matrix'> {
  const find = (pattern: RegExp, what: string) => {
    const found = inFolder.find((f) => pattern.test(posix.basename(f.path)));
    if (!found) throw new DatasetError('missing_element', `${where}: the folder with the matrix has no ${what}`);
    return found;
  };
  return { barcodes: find(BARCODES_NAME, 'barcodes.tsv(.gz)'), features: find(FEATURES_NAME, 'features.tsv(.gz) or genes.tsv') };
}

/** Lists a directory's files (relative POSIX paths) down to a small depth, as MTX file sources. */
export async function listDirectory(root: string, maxDepth = 3): Promise<MtxFile[]> {
  const out: MtxFile[] = [];
  const walk = async (relative: string, depth: number) => {
    for (const entry of await readdir(join(root, relative), { withFileTypes: true })) {
      const rel = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory() && depth < maxDepth) await walk(rel, depth + 1);
      else if (entry.isFile()) out.push({ path: rel, open: () => createReadStream(join(root, rel)) });
    }
  };
  await walk('', 0);
  return out;
}

/** The MTX dataset of a Matrix Market file given on its own, with barcodes and features beside it. */
export async function filesBesideMatrix(matrixPath: string): Promise<MtxFiles> {
  const beside = (await listDirectory(dirname(matrixPath), 0)).filter((f) => !isJunkEntry(f.path));
  return { matrix: { path: matrixPath, open: () => createReadStream(matrixPath) }, ...companions(beside, matrixPath) };
}
