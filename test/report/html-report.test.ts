/**
 * The HTML report in a real browser (playwright-core + Chromium): every chart drawn, the tables
 * there, nothing on the console, nothing from the network, hostile text shown as text. A
 * screenshot is kept in test-artifacts/ (gitignored) for a human to look at.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HtmlReporter } from '../../harness/report/html.js';
import { junitXml } from '../../harness/report/junit.js';
import { buildRunResults } from '../../harness/report/results.js';
import { reportFixture } from '../../harness/report/testing/fixture.js';
import { HOSTILE_LOG_LINE, HOSTILE_MODEL_ID, syntheticRun } from '../../harness/report/testing/synthetic-run.js';
import { launchChromium } from '../browser.js';

const artifacts = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

interface Opened {
  page: Page;
  consoleErrors: string[];
  pageErrors: string[];
  requests: string[];
  dialogs: string[];
}

let browser: BrowserContext;
let dir: string;

async function open(file: string): Promise<Opened> {
  const page = await browser.newPage();
  const o: Opened = { page, consoleErrors: [], pageErrors: [], requests: [], dialogs: [] };
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') o.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => o.pageErrors.push(e.message));
  page.on('request', (r) => o.requests.push(r.url()));
  page.on('dialog', (d) => { o.dialogs.push(d.message()); void d.dismiss(); });
  await page.setViewportSize({ width: 1300, height: 1000 });
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction(() => document.documentElement.hasAttribute('data-charts'), undefined, { timeout: 20_000 });
  return o;
}

/** Non-transparent pixels of every canvas, by id, read from the page. */
async function inkPerCanvas(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => {
    const out: Record<string, number> = {};
    for (const c of Array.from(document.querySelectorAll('canvas'))) {
      const ctx = c.getContext('2d');
      if (!ctx || c.width === 0 || c.height === 0) { out[c.id] = 0; continue; }
      const data = ctx.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) n++;
      out[c.id] = n;
    }
    return out;
  });
}

const fx = reportFixture();
let reportFile: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hil-html-'));
  [reportFile] = new HtmlReporter().onEnd(fx.results, { outDir: dir, files: [] });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('report.html in Chromium', () => {
  it('draws every chart (non-blank canvases), with no console errors and no network requests', async () => {
    const o = await open(reportFile);
    const state = await o.page.evaluate(() => (window as unknown as { hilReport: { charts: number; drawn: number; failed: string[] } }).hilReport);
    const ink = await inkPerCanvas(o.page);
    const ids = Object.keys(ink);
    expect(state).toEqual({ charts: ids.length, drawn: ids.length, failed: [] });
    expect(ids).toEqual([
      'chart-latency-box', ...fx.results.variants.map((_, i) => `chart-hist-${i}`), 'chart-comparisons', 'chart-baseline', 'chart-boards',
      'chart-accuracy', 'chart-memory-arena', 'chart-memory-heap-internal', 'chart-memory-heap-psram', 'chart-profile', 'chart-trend',
    ]);
    for (const [id, n] of Object.entries(ink)) expect(n, `${id} is blank`).toBeGreaterThan(2000);
    expect(o.consoleErrors).toEqual([]);
    expect(o.pageErrors).toEqual([]);
    expect(o.requests).toEqual([pathToFileURL(reportFile).href]);
    await o.page.close();
  });

  it('has the tables a reader looks for, and the simulated banner', async () => {
    const { page } = await open(reportFile);
    await expect(page.locator('#simulated-banner').textContent()).resolves.toBe('SIMULATED: these numbers come from simulated boards (harness/sim), not from ESP32-S3 hardware');
    expect(await page.locator('#simulated-banner').isVisible()).toBe(true);
    expect(await page.locator('table.variants tbody tr').count()).toBeGreaterThanOrEqual(8);
    expect(await page.locator('#gates table.gates tbody tr').first().textContent()).toContain('FAIL');
    expect(await page.locator('#comparisons table.comparisons tbody tr').count()).toBe(12);
    expect(await page.locator('#baseline table.comparisons tbody tr').count()).toBe(8);
    expect(await page.locator('table.boards tbody tr').count()).toBe(4);
    expect(await page.locator('table.cm').count()).toBe(2);
    expect(await page.locator('#memory table tbody tr').count()).toBeGreaterThanOrEqual(8);
    expect(await page.locator('#trend table tbody tr').count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator('h1').textContent()).toBe('Lab report: synthetic, run nightly-2025-01-06');
    await page.close();
  });

  it('a run of emulated and simulated boards shows both banners, both visible at the top after scrolling, and each row\'s class', async () => {
    const mixed = buildRunResults(syntheticRun({ runId: 'emu-and-sim', hostile: false, boards: 2, rounds: 1, samples: 20, boardProvenance: { 'sim-2': 'emulated' } }).events);
    const [file] = new HtmlReporter('mixed.html').onEnd(mixed, { outDir: dir, files: [] });
    const o = await open(file);
    const { page } = o;
    await expect(page.locator('#emulated-banner').textContent()).resolves.toBe('EMULATED: these numbers come from emulated boards (Espressif QEMU running the lab firmware): outputs are the firmware\'s real arithmetic, timings count the firmware\'s instructions (QEMU -icount: 4 ns each), not ESP32-S3 silicon cycles');
    expect(await page.evaluate(() => { window.scrollTo(0, document.body.scrollHeight / 2); return window.scrollY; })).toBeGreaterThan(500);
    for (const id of ['#emulated-banner', '#simulated-banner']) {
      expect(await page.locator(id).isVisible()).toBe(true);
      const box = (await page.locator(id).boundingBox())!;
      expect(box.y, `${id} stays in view`).toBeGreaterThanOrEqual(0);
      expect(box.y).toBeLessThan(200);
    }
    const top = async (id: string) => (await page.locator(id).boundingBox())!.y;
    expect(await top('#simulated-banner')).toBeGreaterThan(await top('#emulated-banner'));
    expect(await page.locator('table.variants tbody tr .provenance').first().textContent()).toBe('(mixed)');
    expect(await page.locator('table.boards tbody tr').nth(1).textContent()).toContain('(emulated)');
    expect(o.consoleErrors).toEqual([]);
    expect(o.pageErrors).toEqual([]);
    await page.close();
  });

  it('shows a <script> in a model name and in a board log line as text: no alert, no injected element', async () => {
    const o = await open(reportFile);
    const { page } = o;
    const cmTitle = page.locator('#accuracy h3', { hasText: 'Confusion matrix: cnn-float' });
    await expect(cmTitle.textContent()).resolves.toBe(`Confusion matrix: ${HOSTILE_MODEL_ID}`);
    expect(await cmTitle.isVisible()).toBe(true);
    const log = page.locator('pre.log', { hasText: 'input name' });
    expect(await log.isVisible()).toBe(true);
    expect(await log.textContent()).toContain(HOSTILE_LOG_LINE);
    const dom = await page.evaluate(() => ({
      scripts: Array.from(document.querySelectorAll('script')).map((s) => s.type || 'classic'),
      bold: document.querySelectorAll('pre.log b').length,
    }));
    expect(dom).toEqual({ scripts: ['application/json', 'classic', 'classic'], bold: 0 });
    expect(o.dialogs).toEqual([]);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'report.png'), fullPage: true });
    await page.close();
  });

  it('a run that measured nothing still renders, without charts and without errors', async () => {
    const failed = buildRunResults(syntheticRun({ runId: 'failed-run', failRun: true }).events);
    const [file] = new HtmlReporter('failed.html').onEnd(failed, { outDir: dir, files: [] });
    const o = await open(file);
    expect(await o.page.evaluate(() => (window as unknown as { hilReport: unknown }).hilReport)).toEqual({ charts: 0, drawn: 0, failed: [] });
    expect(await o.page.locator('.verdict').textContent()).toBe('exit 2: lab error');
    expect(o.consoleErrors).toEqual([]);
    expect(o.pageErrors).toEqual([]);
    await o.page.close();
  });

  it('junit.xml of the same run is well-formed XML (Chromium\'s DOMParser)', async () => {
    const page = await browser.newPage();
    const xml = junitXml(fx.results);
    const parsed = await page.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, 'application/xml');
      return { error: doc.getElementsByTagName('parsererror').length, cases: doc.getElementsByTagName('testcase').length, failure: doc.querySelector('failure')?.getAttribute('message') ?? '' };
    }, xml);
    expect(parsed.error).toBe(0);
    expect(parsed.cases).toBe(129);
    expect(parsed.failure).toMatch(/^latency\.median \+4\.\d\d% \(3891 us -> 4084 us/);
    await page.close();
  });

  it('stays small: a self-contained file under 3 MB with Chart.js inlined', () => {
    const text = readFileSync(reportFile, 'utf8');
    expect(text.length).toBeLessThan(3 * 1024 * 1024);
    expect(text).toContain('Chart.js v4');
    expect(text).not.toMatch(/<(link|script)[^>]+(src|href)="(https?:)?\/\//);
  });
});
