/**
 * What the browser tests and the web bench share: the page built with Vite, and Debian's Chromium launched
 * headless through playwright-core with the flags of issue 17 (software rendering: SwiftShader's WebGL).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { build } from 'vite';
import { packageRoot } from '../../src/paths.js';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** A reason to skip when Debian's Chromium is not installed (`bash .ci/run` installs it). */
export const chromiumMissing: string | false = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent: apt-get install -y chromium (bash .ci/run does)`;

/** Builds the page into dist/web, as `npm run build` does, so the API serves the current source. */
export async function buildWebPage(): Promise<void> {
  await build({ configFile: join(packageRoot, 'vite.config.ts'), logLevel: 'warn' });
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
}

/** Where the tests put their screenshots (gitignored). */
export const SCREENSHOTS = join(packageRoot, 'test-output', 'screenshots');

export async function screenshotsDir(): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  return SCREENSHOTS;
}
