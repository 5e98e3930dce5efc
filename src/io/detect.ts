import { open, stat } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { DatasetError } from './errors.js';

/** What the bytes of an upload say it is. */
export type ContainerKind = 'directory' | 'hdf5' | 'tar.gz' | 'tar' | 'zip' | 'mtx' | 'mtx.gz';

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
const HEAD_BYTES = 64 * 1024;

function isTar(bytes: Buffer): boolean {
  return bytes.length >= 262 && bytes.subarray(257, 262).toString('latin1') === 'ustar';
}

function isMatrixMarket(bytes: Buffer): boolean {
  return bytes.subarray(0, 14).toString('latin1') === '%%MatrixMarket';
}

/** Compressed bytes read to recognise what a gzip stream holds: few enough that a bomb cannot expand them far. */
const GZIP_HEAD_BYTES = 4096;

/** The start of a gzip stream's content, enough to recognise a tar or MTX header. */
function gunzipHead(bytes: Buffer): Buffer {
  try {
    return gunzipSync(bytes.subarray(0, GZIP_HEAD_BYTES), { finishFlush: 2 /* Z_SYNC_FLUSH: accept a cut-off stream */ });
  } catch {
    return Buffer.alloc(0);
  }
}

/** Detects the container from its first bytes (an HDF5 superblock may sit after a user block). */
export async function detectContainer(path: string): Promise<ContainerKind> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new DatasetError('not_found', `no file or folder at ${path}`);
  }
  if (info.isDirectory()) return 'directory';
  if (info.size === 0) throw new DatasetError('empty', `${path} is an empty file`);
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(HEAD_BYTES, info.size));
    await handle.read(head, 0, head.length, 0);
    for (let offset = 0; offset < info.size; offset = offset === 0 ? 512 : offset * 2) {
      const signature = Buffer.alloc(8);
      await handle.read(signature, 0, 8, offset);
      if (signature.equals(HDF5_SIGNATURE)) return 'hdf5';
      if (offset >= 1 << 20) break;
    }
    if (head[0] === 0x1f && head[1] === 0x8b) {
      const inner = gunzipHead(head);
      if (isTar(inner)) return 'tar.gz';
      if (isMatrixMarket(inner)) return 'mtx.gz';
      throw new DatasetError('unknown_format', `${path} is gzip-compressed but holds neither a tar archive nor a Matrix Market file`);
    }
    if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) return 'zip';
    if (isTar(head)) return 'tar';
    if (isMatrixMarket(head)) return 'mtx';
  } finally {
    await handle.close();
  }
  throw new DatasetError(
    'unknown_format',
    `${path} is not a dataset this service reads: expected an .h5ad or 10x HDF5 file, a 10x MTX folder, or a .tar.gz/.zip of one`,
  );
}
