import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { inspectInChild } from '../../src/api/inspect.js';
import { InputError } from '../../src/errors.js';
import { TENX_H5 } from './helpers.js';

test('large uploads are inspected in a child process, with input errors kept as InputError', async () => {
  const summary = await inspectInChild(fileURLToPath(TENX_H5));
  assert.equal(summary.n_obs, 12);
  const dir = await mkdtemp(join(tmpdir(), 'scgmdvae-inspect-'));
  try {
    const notData = join(dir, 'not-data.txt');
    await writeFile(notData, 'plain text\n');
    await assert.rejects(
      inspectInChild(notData),
      (err: unknown) => err instanceof InputError && err.name === 'DatasetError' && /not a dataset/.test((err as Error).message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
