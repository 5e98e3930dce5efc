/** Whole typed arrays written to and read from a file descriptor at a byte position (a single call may move fewer bytes). */
import { readSync, writeSync } from 'node:fs';

type Numbers = Uint8Array | Int32Array | Uint32Array | Float32Array;

function bytesOf(array: Numbers): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

export function writeAllSync(fd: number, array: Numbers, position: number): void {
  const bytes = bytesOf(array);
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}

/** Fills `array` from the file at `position`; `what` names the file in the error when it ends early. */
export function readAllSync<T extends Numbers>(fd: number, array: T, position: number, what: string): T {
  const bytes = bytesOf(array);
  for (let done = 0; done < bytes.length; ) {
    const read = readSync(fd, bytes, done, bytes.length - done, position + done);
    if (read === 0) throw new Error(`${what}: the file ends ${bytes.length - done} bytes early`);
    done += read;
  }
  return array;
}
