import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ICoTResult } from '@icot/core';
import { startWebServer, type WebServer } from '../src/index.js';
import { postRun, readEvents } from './helpers/http.js';

// Browser mode: the demo model runs in the page (onnxruntime-web's WebAssembly in a Web Worker,
// @icot/backend-web), and gives what the Node backend gives on the same input.

const CHROMIUM = process.env['ICOT_CHROMIUM'] ?? '/usr/bin/chromium';
const RESULTS = fileURLToPath(new URL('../test-results/', import.meta.url));

let server: WebServer;
let browser: Browser;
let page: Page;
const offsite: string[] = [];
const pageErrors: string[] = [];

interface DownloadedResult {
  readonly model: string;
  readonly options: Record<string, unknown>;
  readonly result: ICoTResult;
}

/** The finished run's "Result (JSON)" download, parsed. */
async function resultOf(run: ReturnType<Page['locator']>): Promise<DownloadedResult> {
  const [download] = await Promise.all([page.waitForEvent('download'), run.locator('a.result-json').click()]);
  return JSON.parse(await readFile((await download.path())!, 'utf8')) as DownloadedResult;
}

// Without Chromium the tests are skipped, except in CI (CI=true), where .ci/run installs it: there they must run.
describe.skipIf(!existsSync(CHROMIUM) && process.env['CI'] !== 'true')(`the page in headless Chromium (${CHROMIUM}), browser mode`, () => {
  beforeAll(async () => {
    await mkdir(RESULTS, { recursive: true });
    server = await startWebServer({ port: 0, appDir: inject('appDir') });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless'] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === '127.0.0.1') return route.continue();
      offsite.push(url.href);
      return route.abort();
    });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));

    await page.goto(`${server.url}?mode=browser-wasm`);
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('runs the demo model in the page and gives the Node backend\'s tokens, insertion steps, patches and attention rows (within 1e-5)', async () => {
    expect(await page.inputValue('#mode')).toBe('browser-wasm');
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true); // threaded WebAssembly
    await page.fill('#max-new-tokens', '40');
    await page.click('#run');
    const run = page.locator('#run-output .run');
    await page.waitForSelector('#run-output .run[data-state="finished"]', { timeout: 180_000 });
    expect(await run.locator('.status').textContent()).toBe('finished');
    await page.screenshot({ path: join(RESULTS, 'browser-run.png'), fullPage: true });
    const inPage = await resultOf(run);
    expect(inPage.result.insertions.length).toBeGreaterThanOrEqual(1);
    expect(await run.locator('.insertion svg .heatmap rect.cell').count()).toBe(64 * inPage.result.insertions.length);

    // the same options through icot web's server mode: onnxruntime-node in a child process
    const { model: _model, ...options } = inPage.options;
    const events = await readEvents(await postRun(server.url, { question: await page.inputValue('#question'), options }));
    const node = (events.at(-1)!.data as unknown as { result: ICoTResult }).result;
    expect(inPage.result.tokens).toEqual(node.tokens);
    expect(inPage.result.text).toBe(node.text);
    expect(inPage.result.queryImage).toEqual(node.queryImage);
    expect(inPage.result.insertions.map((i) => [i.step, i.selected])).toEqual(node.insertions.map((i) => [i.step, i.selected]));
    inPage.result.insertions.forEach((insertion, n) => {
      const reference = node.insertions[n]!.attention!;
      expect(insertion.attention).toHaveLength(reference.length);
      const worst = insertion.attention!.reduce((max, v, i) => Math.max(max, Math.abs(v - reference[i]!)), 0);
      expect(worst).toBeLessThan(1e-5);
    });
  }, 240_000);

  it('compares ADS and random in the page, and keeps a blind rating in IndexedDB, exported as JSONL', async () => {
    await page.click('[data-tab="compare"]');
    await page.selectOption('#preset', 'ads-random');
    await page.fill('#max-new-tokens', '24');
    await page.click('#compare');
    await page.waitForFunction(() => document.querySelectorAll('#compare-output .run[data-state="finished"]').length === 2, undefined, { timeout: 180_000 });
    await page.click('#to-rating');
    await page.waitForSelector('#rating .pair figure svg');
    await page.click('#rating button[data-choice="second"]');
    await page.waitForFunction(() => /^1 ratings? in this browser's IndexedDB/.test(document.getElementById('rating-count')!.textContent ?? ''));
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    const lines = (await readFile((await download.path())!, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ schemaVersion: 1, model: 'demo', choice: 'second', source: 'browser' });
    expect(lines[0]!['preferred']).toBe((lines[0]!['regions'] as { strategy: string }[])[1]!.strategy);
    // IndexedDB keeps it across a reload
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
    await page.waitForFunction(() => /^1 ratings? in this browser's IndexedDB/.test(document.getElementById('rating-count')!.textContent ?? ''));
  }, 240_000);

  it('the page needed nothing outside 127.0.0.1 and raised no errors', () => {
    expect(offsite).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
