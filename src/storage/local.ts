/**
 * The object store in a local folder (STORAGE_URL=file:///path, the embedded default): a key is a path under the
 * folder. tmp/ holds writes in progress and folders being deleted (same filesystem, so renames are atomic); every
 * object is written there, fsynced and renamed into place, so a crash leaves the old or the whole new version.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { checkKey, observed } from './keys.js';
import { sweepTemporaries, temporaryName } from './temporaries.js';
import type { ObjectStore, StoredFile } from './types.js';

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class LocalObjectStore implements ObjectStore {
  readonly holdsLocalFiles = true;
  readonly url: string;
  private readonly tmpDir: string;

  constructor(readonly root: string) {
    this.url = pathToFileURL(root).href;
    this.tmpDir = join(root, 'tmp');
  }

  /** Creates the folder and removes what a crash left in tmp/. */
  async init(): Promise<this> {
    await this.sweepTemp();
    return this;
  }

  /** Removes from tmp/ the writes (uploads) of processes that are gone; returns how many. */
  sweepTemp(): Promise<number> {
    return sweepTemporaries(this.tmpDir);
  }

  private path(key: string): string {
    return join(this.root, checkKey(key));
  }

  /** Writes through a temporary file in tmp/ that `write` fills, then renames it to `key`. */
  private async place(key: string, write: (temporary: string) => Promise<void>): Promise<void> {
    const temporary = join(this.tmpDir, temporaryName('put'));
    const target = this.path(key);
    try {
      await write(temporary);
      await mkdir(dirname(target), { recursive: true });
      await rename(temporary, target);
      await fsyncDir(dirname(target));
    } catch (err) {
      await rm(temporary, { force: true });
      throw err;
    }
  }

  async put(key: string, source: Readable | Uint8Array, observe?: (chunk: Buffer) => void | Promise<void>): Promise<number> {
    let bytes = 0;
    await this.place(key, (temporary) =>
      pipeline(
        source instanceof Readable ? source : Readable.from([Buffer.from(source)]),
        observed((chunk) => {
          bytes += chunk.length;
          return observe?.(chunk);
        }),
        // flush: fsync before close, so a stored object is on disk before we say so.
        createWriteStream(temporary, { flags: 'wx', flush: true }),
      ),
    );
    return bytes;
  }

  async putFile(key: string, path: string): Promise<void> {
    await this.place(key, async (temporary) => {
      await copyFile(path, temporary);
      const handle = await open(temporary, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
  }

  async get(key: string): Promise<StoredFile | undefined> {
    const path = this.path(key);
    try {
      const info = await stat(path);
      if (!info.isFile()) return undefined;
      return { stream: createReadStream(path), size: info.size };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async getRange(key: string, start: number, length: number): Promise<Uint8Array | undefined> {
    let handle;
    try {
      handle = await open(this.path(key), 'r');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    try {
      const buffer = new Uint8Array(length);
      const { bytesRead } = await handle.read(buffer, 0, length, start);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async localCopy(key: string): Promise<string> {
    const path = this.path(key);
    await stat(path);
    return path;
  }

  /**
   * Moves the folder out of sight in one rename, then deletes it; a folder of folders it leaves empty (a job's
   * attempts/) goes too, and one still in use stays (ENOTEMPTY). Top-level folders (datasets/, jobs/) always stay.
   */
  async deletePrefix(prefix: string): Promise<void> {
    const trash = join(this.tmpDir, temporaryName('trash'));
    const path = this.path(prefix);
    try {
      await rename(path, trash);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    await rm(trash, { recursive: true, force: true });
    if (checkKey(prefix).replace(/\/$/, '').split('/').length > 2) await rmdir(dirname(path)).catch(() => undefined);
  }

  async listFolders(prefix: string): Promise<string[]> {
    try {
      return (await readdir(this.path(prefix), { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }

  async presignedUrl(): Promise<undefined> {
    return undefined;
  }
}
