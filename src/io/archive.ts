import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { unzipSync } from 'fflate';
import tar from 'tar-stream';
import { DatasetError } from './errors.js';
import { isJunkEntry, type MtxFile } from './mtx.js';

/** Entries worth keeping in memory: the three files of a 10x MTX dataset. */
const WANTED = /^(matrix\.mtx|barcodes\.tsv|features\.tsv|genes\.tsv)(\.gz)?$/;

/** Refuses entry names that would escape the folder they are unpacked into. */
export function safeEntryPath(name: string, archive: string): string {
  const normalised = posix.normalize(name.replace(/\\/g, '/'));
  if (normalised.startsWith('/') || /^[A-Za-z]:/.test(normalised) || normalised === '..' || normalised.startsWith('../')) {
    throw new DatasetError('unsafe_archive', `${archive} contains an entry named "${name}" that points outside the archive's folder; refusing to read it`);
  }
  return normalised.replace(/\/$/, '');
}

function inMemory(path: string, bytes: Uint8Array): MtxFile {
  return { path, open: () => Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]) };
}

/** Reads the 10x files of a tar archive (gzip-compressed or not) into memory; nothing touches the disk. */
export async function readTarEntries(path: string, gzipped: boolean): Promise<MtxFile[]> {
  const extract = tar.extract();
  const source = createReadStream(path);
  const unpack = gzipped ? source.pipe(createGunzip()) : source;
  unpack.on('error', (error: Error) => extract.destroy(error));
  unpack.pipe(extract);
  const out: MtxFile[] = [];
  try {
    for await (const entry of extract) {
      const name = safeEntryPath(entry.header.name, path);
      const wanted = entry.header.type === 'file' && !isJunkEntry(name) && WANTED.test(posix.basename(name));
      if (!wanted) {
        entry.resume();
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      out.push(inMemory(name, Buffer.concat(chunks)));
    }
  } catch (error) {
    if (error instanceof DatasetError) throw error;
    throw new DatasetError('truncated', `${path} is not a readable tar archive (${(error as Error).message})`);
  } finally {
    source.destroy();
  }
  return out;
}

/** Reads the 10x files of a zip archive into memory. */
export async function readZipEntries(path: string): Promise<MtxFile[]> {
  const bytes = await readFile(path);
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, {
      filter: (file) => {
        const name = safeEntryPath(file.name, path);
        return !isJunkEntry(name) && WANTED.test(posix.basename(name));
      },
    });
  } catch (error) {
    if (error instanceof DatasetError) throw error;
    throw new DatasetError('truncated', `${path} is not a readable zip archive (${(error as Error).message})`);
  }
  return Object.entries(entries).map(([name, data]) => inMemory(safeEntryPath(name, path), data));
}
