/** Decompression within limits, so that a decompression bomb costs a bounded amount of work and memory. */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DatasetError } from './errors.js';

/**
 * What one compressed stream (a .gz, a .tar.gz, a zip) may unpack to, enforced while it unpacks, so a
 * decompression bomb is refused after a bounded amount of work. Layers are bounded by construction: an archive's
 * members are decompressed once more at most (matrix.mtx.gz in a .tar.gz), archives inside archives never.
 */
export const DECOMPRESSION_LIMITS = {
  /** Bytes out of one stream. */
  totalBytes: 64 * 1024 ** 3,
  /** Bytes out per byte in, checked once `ratioAfterBytes` came out; real MTX text stays far below (docs/decisions.md). */
  ratio: 100,
  ratioAfterBytes: 16 * 1024 ** 2,
  /** Entries of an archive, and the size of one kept entry (it is held in memory). */
  entries: 10_000,
  entryBytes: 2 * 1024 ** 3,
};

const L = DECOMPRESSION_LIMITS;
const MiB = 1024 ** 2;

/** Counts what a compressed stream takes in and gives out, and refuses it once it passes DECOMPRESSION_LIMITS. */
export class ExpansionMeter {
  private input = 0;
  private output = 0;
  constructor(private readonly what: string) {}

  take(bytes: number): void {
    this.input += bytes;
  }

  give(bytes: number): void {
    this.output += bytes;
    if (this.output > L.totalBytes) {
      throw new DatasetError('too_large', `${this.what} unpacks to more than ${L.totalBytes / 1024 ** 3} GiB; refusing it`);
    }
    if (this.output > L.ratioAfterBytes && this.output > L.ratio * this.input) {
      throw new DatasetError(
        'too_large',
        `${this.what} unpacks to over ${L.ratio} times its compressed size (${Math.round(this.output / MiB)} MiB from ${(this.input / MiB).toFixed(1)} MiB): a decompression bomb, not a dataset; refusing it`,
      );
    }
  }
}

/** The gunzipped bytes of `chunks`, metered. */
export async function* gunzipLimited(chunks: AsyncIterable<Buffer>, what: string): AsyncIterable<Buffer> {
  const meter = new ExpansionMeter(what);
  const metered = (async function* () {
    for await (const chunk of chunks) {
      meter.take(chunk.length);
      yield chunk;
    }
  })();
  const gunzip = createGunzip();
  const source = Readable.from(metered);
  source.on('error', (error) => gunzip.destroy(error));
  source.pipe(gunzip);
  try {
    for await (const chunk of gunzip) {
      meter.give((chunk as Buffer).length);
      yield chunk as Buffer;
    }
  } finally {
    source.destroy();
    gunzip.destroy();
  }
}

