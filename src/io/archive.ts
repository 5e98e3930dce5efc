import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { Unzip, UnzipInflate, type UnzipFile } from 'fflate';
import tar from 'tar-stream';
import { DECOMPRESSION_LIMITS as L, ExpansionMeter, gunzipLimited } from './decompress.js';
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

function countEntry(count: number, archive: string): void {
  if (count > L.entries) throw new DatasetError('too_large', `${archive} holds more than ${L.entries} entries; a 10x MTX archive holds three files`);
}

function checkEntrySize(bytes: number, name: string, archive: string): void {
  if (bytes > L.entryBytes) throw new DatasetError('too_large', `${archive}: entry "${name}" unpacks to more than ${L.entryBytes / 1024 ** 3} GiB; refusing it`);
}

/** Reads the 10x files of a tar archive (gzip-compressed or not) into memory; nothing touches the disk. */
export async function readTarEntries(path: string, gzipped: boolean): Promise<MtxFile[]> {
  const extract = tar.extract();
  const source = createReadStream(path);
  const unpack = Readable.from(gzipped ? gunzipLimited(source, path) : source);
  unpack.on('error', (error: Error) => extract.destroy(error));
  unpack.pipe(extract);
  const out: MtxFile[] = [];
  let entries = 0;
  try {
    for await (const entry of extract) {
      const name = safeEntryPath(entry.header.name, path);
      countEntry(++entries, path);
      const wanted = entry.header.type === 'file' && !isJunkEntry(name) && WANTED.test(posix.basename(name));
      if (!wanted) {
        entry.resume();
        continue;
      }
      checkEntrySize(entry.header.size ?? 0, name, path);
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      out.push(inMemory(name, Buffer.concat(chunks)));
    }
  } catch (error) {
    if (error instanceof DatasetError) throw error;
    throw new DatasetError('truncated', `${path} is not a readable tar archive (${(error as Error).message})`);
  } finally {
    source.destroy();
    unpack.destroy();
  }
  return out;
}

/** Reads the 10x files of a zip archive into memory, streaming it: the archive itself is never held whole. */
export async function readZipEntries(path: string): Promise<MtxFile[]> {
  const meter = new ExpansionMeter(path);
  const out: MtxFile[] = [];
  let entries = 0;
  let failure: unknown;
  const unzip = new Unzip((file: UnzipFile) => {
    if (failure) return;
    try {
      const name = safeEntryPath(file.name, path);
      countEntry(++entries, path);
      if (isJunkEntry(name) || !WANTED.test(posix.basename(name))) return;
      const chunks: Uint8Array[] = [];
      let size = 0;
      file.ondata = (error, data, final) => {
        if (failure) return;
        try {
          if (error) throw error;
          size += data.length;
          meter.give(data.length);
          checkEntrySize(size, name, path);
          chunks.push(data);
          if (final) out.push(inMemory(name, Buffer.concat(chunks)));
        } catch (err) {
          failure = err;
          file.terminate();
        }
      };
      file.start();
    } catch (err) {
      failure = err;
    }
  });
  unzip.register(UnzipInflate);
  // Small reads: each push inflates at once, so what one push may unpack stays bounded by the ratio.
  const source = createReadStream(path, { highWaterMark: 16 * 1024 });
  try {
    for await (const chunk of source) {
      meter.take((chunk as Buffer).length);
      unzip.push(chunk as Buffer);
      if (failure) break;
    }
    if (!failure) unzip.push(new Uint8Array(0), true);
  } catch (error) {
    failure ??= error;
  } finally {
    source.destroy();
  }
  if (failure instanceof DatasetError) throw failure;
  if (failure) throw new DatasetError('truncated', `${path} is not a readable zip archive (${(failure as Error).message})`);
  return out;
}
