/**
 * A real browser for tests: Debian's Chromium (apt-get install chromium; .ci/run installs it),
 * driven by playwright-core, which downloads nothing. Each launch gets a fresh profile directory.
 * Screenshots go to test-artifacts/ (gitignored), kept after the run for a human to look at.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.resolve('test-artifacts');

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Saves a full-page PNG under test-artifacts/<suite>/<name>.png; returns its path. */
  screenshot(name: string, opts?: { fullPage?: boolean }): Promise<string>;
  /** Browser console errors and uncaught page errors seen so far. */
  errors: string[];
  close(): Promise<void>;
}

export async function launchBrowser(suite: string): Promise<TestBrowser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lead-router-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  const dir = path.join(ARTIFACTS, suite);
  fs.mkdirSync(dir, { recursive: true });
  return {
    context,
    page,
    errors,
    async screenshot(name, opts = {}) {
      const file = path.join(dir, `${name}.png`);
      await page.screenshot({ path: file, fullPage: opts.fullPage ?? true });
      return file;
    },
    async close() {
      await context.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
