import { open, rename, rm } from 'node:fs/promises';

/**
 * Writes `path` through a temporary sibling that is renamed into place, so a reader sees the old
 * file or the whole new one, never half; the temporary file is removed when writing fails.
 */
export async function atomically(path: string, write: (temporary: string) => Promise<void>): Promise<void> {
  const temporary = `${path}.partial-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  try {
    await write(temporary);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Writes a whole file atomically (its content whole, or as chunks of text); with `durable`, fsyncs it before the rename (records that must survive a crash). */
export function writeFileAtomic(path: string, content: string | Uint8Array | Iterable<string>, durable = false): Promise<void> {
  return atomically(path, async (temporary) => {
    const handle = await open(temporary, 'wx');
    try {
      if (typeof content === 'string' || content instanceof Uint8Array) await handle.writeFile(content);
      else for (const chunk of content) await handle.write(chunk);
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
  });
}
