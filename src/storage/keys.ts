/** Where each thing lives in the object store, and the checks every store applies to a key. */
import type { Readable } from 'node:stream';

/** Ids are UUIDs we generated; anything else (e.g. '../x' from a URL) names nothing. */
export const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A key is relative, '/'-separated, without empty, '.' or '..' segments; a store refuses anything else. */
export function checkKey(key: string): string {
  const parts = key.replace(/\/$/, '').split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..' || part.includes('\\'))) throw new Error(`not a storage key: '${key}'`);
  return key;
}

export const objectKeys = {
  dataset: (id: string) => `datasets/${id}/`,
  datasetData: (id: string) => `datasets/${id}/data`,
  datasetRecord: (id: string) => `datasets/${id}/dataset.json`,
  job: (id: string) => `jobs/${id}/`,
  jobRecord: (id: string) => `jobs/${id}/job.json`,
  outcome: (id: string) => `jobs/${id}/outcome.json`,
  attempts: (id: string) => `jobs/${id}/attempts/`,
  attempt: (id: string, attempt: string) => `jobs/${id}/attempts/${attempt}/`,
  /** Where results published before attempt prefixes (by a rename) still are. */
  renamedResults: (id: string) => `jobs/${id}/results/`,
};

/** A pipeline stage that passes chunks on unchanged after `observe` has seen (and, if async, finished with) each. */
export function observed(observe: (chunk: Buffer) => void | Promise<void>) {
  return async function* (chunks: Readable | AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of chunks as AsyncIterable<Buffer>) {
      await observe(chunk);
      yield chunk;
    }
  };
}
