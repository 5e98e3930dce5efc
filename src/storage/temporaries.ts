/**
 * Temporary files of uploads and writes in progress, named <kind>.<host>.<pid>.<boot>.<uuid> so that a sweep can tell
 * those of a process that is gone from those of one still writing.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** Untouched this long, a temporary of another host (whose processes we cannot see) is abandoned. */
const STALE_TEMP_MS = 3_600_000;
const HOST = hostname().replace(/[^A-Za-z0-9-]/g, '-');
const BOOT = randomUUID().slice(0, 8);
const OWNED_NAME = /^[a-z]+\.([A-Za-z0-9-]+)\.(\d+)\.([0-9a-f]{8})\./;

/** A fresh temporary name for this process. */
export function temporaryName(kind: string): string {
  return `${kind}.${HOST}.${process.pid}.${BOOT}.${randomUUID()}`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes from `dir` the temporaries of this host's processes that are gone (a dead pid, or ours from an earlier boot:
 * a container's API is always pid 1) and anything untouched for an hour; returns how many.
 */
export async function sweepTemporaries(dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const staleBefore = Date.now() - STALE_TEMP_MS;
  let removed = 0;
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const owner = OWNED_NAME.exec(name);
    const orphan = owner !== null && owner[1] === HOST && owner[3] !== BOOT && (Number(owner[2]) === process.pid || !processAlive(Number(owner[2])));
    const info = orphan ? undefined : await stat(path).catch(() => undefined);
    if (orphan || (info && info.mtimeMs < staleBefore)) {
      await rm(path, { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}
