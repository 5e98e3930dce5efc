import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const fixture = (...parts: string[]) => join(repoRoot, 'test', 'fixtures', 'io', ...parts);
/** ../shared/data beside the checkout; tests over it skip when it is absent. */
export const sharedData = join(repoRoot, '..', 'shared', 'data');
export const hasShared = existsSync(sharedData);
export const tempDir = (prefix = 'scgmdvae-test-') => mkdtemp(join(tmpdir(), prefix));
