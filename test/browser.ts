/**
 * Headless Chromium for browser tests, through playwright-core and Debian's chromium (FACTS.md:
 * `executablePath: '/usr/bin/chromium'`; the background-networking flags keep Chromium from
 * reaching for a network this machine does not have).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const chromiumPath = process.env.HIL_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<BrowserContext> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`browser tests need Chromium at ${chromiumPath}: apt-get install chromium (or set HIL_CHROMIUM)`);
  }
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'hil-chromium-'));
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}
