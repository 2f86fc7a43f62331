import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { demoModel } from '@icot/demo-model';
import { startWebServer, type WebServer } from '../src/index.js';

// The page in Debian's Chromium (playwright-core; Playwright's own browsers cannot be downloaded
// here), headless, every request not to 127.0.0.1 aborted, against icot web's server mode with
// the demo model. Screenshots go to apps/web/test-results/.

const CHROMIUM = process.env['ICOT_CHROMIUM'] ?? '/usr/bin/chromium';
const RESULTS = fileURLToPath(new URL('../test-results/', import.meta.url));
const MAX_UPLOAD = 1024 * 1024;

let server: WebServer;
let dataDir: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const offsite: string[] = [];
const pageErrors: string[] = [];

async function openApp(): Promise<void> {
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
}

async function setMaxNewTokens(n: number): Promise<void> {
  await page.fill('#max-new-tokens', String(n));
}

// Without Chromium the tests are skipped, except in CI (CI=true), where .ci/run installs it: there they must run.
describe.skipIf(!existsSync(CHROMIUM) && process.env['CI'] !== 'true')(`the page in headless Chromium (${CHROMIUM}), server mode`, () => {
  beforeAll(async () => {
    await mkdir(RESULTS, { recursive: true });
    dataDir = await mkdtemp(join(tmpdir(), 'icot-web-ratings-'));
    server = await startWebServer({ port: 0, appDir: inject('appDir'), dataDir, limits: { maxUploadBytes: MAX_UPLOAD } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless'] });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === '127.0.0.1') return route.continue();
      offsite.push(url.href);
      return route.abort();
    });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('runs the demo model from an uploaded image to the finished report: each insertion with its step text, heatmap and chosen patches', async () => {
    await openApp();
    await page.setInputFiles('#image-file', demoModel.image);
    await page.waitForFunction(() => document.getElementById('image-info')!.textContent!.startsWith('image.png: 224x224'));
    await setMaxNewTokens(32);
    await page.click('#run');
    const run = page.locator('#run-output .run');
    await page.waitForSelector('#run-output .run[data-state="finished"]', { timeout: 120_000 });
    const cards = run.locator('.insertion');
    const count = await cards.count();
    expect(count).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < count; i++) {
      const card = cards.nth(i);
      expect(await card.locator('.step-text pre, .step-text p.muted').count()).toBe(1);
      // the heatmap: one cell per patch of the 8 x 8 grid, 16 selected patches outlined
      expect(await card.locator('svg .heatmap rect.cell').count()).toBe(64);
      expect(await card.locator('svg .outline rect').count()).toBe(16);
      expect(await card.locator('figure svg').count()).toBe(2); // the overlay and its legend
    }
    expect(await run.locator('.answer .marker').count()).toBe(count);
    await expect.poll(() => run.locator('.summary').textContent()).toMatch(/^32 tokens \(length\), \d insertions?/);
    await page.screenshot({ path: join(RESULTS, 'server-run.png'), fullPage: true });
  }, 180_000);

  it('compares ADS and random side by side, then a person rates their regions blind; the choice lands in ratings.jsonl and the export', async () => {
    await openApp();
    await page.click('[data-tab="compare"]');
    await page.selectOption('#preset', 'ads-random');
    await setMaxNewTokens(24);
    await page.click('#compare');
    await page.waitForFunction(() => document.querySelectorAll('#compare-output .run[data-state="finished"]').length === 2, undefined, { timeout: 120_000 });
    expect(await page.locator('#compare-output .run h2').allTextContents()).toEqual(['A: ads, input, signal', 'B: random, input, signal']);
    await page.screenshot({ path: join(RESULTS, 'server-compare.png'), fullPage: true });
    await page.click('#to-rating');
    await page.waitForSelector('#rating .pair figure svg');
    // nothing on the rating view says which strategy chose a region
    expect(await page.locator('#tab-rate').textContent()).not.toMatch(/ads|random/i);
    await page.screenshot({ path: join(RESULTS, 'server-rating.png'), fullPage: true });
    let rated = 0;
    while (await page.locator('#rating button[data-choice="first"]').count()) {
      await page.click('#rating button[data-choice="first"]');
      rated += 1;
      await page.waitForFunction((n) => !document.querySelector('#rating button[disabled]') && (document.querySelector('#rating [data-state="done"]') || document.querySelector('#rating h3')!.textContent!.startsWith(`Pair ${n + 1}`)), rated);
    }
    expect(rated).toBeGreaterThanOrEqual(1);
    const lines = (await readFile(join(dataDir, 'ratings.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(rated);
    for (const line of lines) {
      expect(line).toMatchObject({ model: 'demo', choice: 'first', source: 'server', image: { name: 'demo image.png', width: 224, height: 224 } });
      const regions = line['regions'] as { strategy: string }[];
      expect(regions.map((r) => r.strategy).sort()).toEqual(['ads, input, signal', 'random, input, signal']);
      expect(line['preferred']).toBe(regions[0]!.strategy);
    }
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    expect(await readFile((await download.path())!, 'utf8')).toBe(await readFile(join(dataDir, 'ratings.jsonl'), 'utf8'));
  }, 180_000);

  it('an oversized upload gets 413, and the page shows the server\'s message', async () => {
    await openApp();
    await page.setInputFiles('#image-file', { name: 'huge.png', mimeType: 'image/png', buffer: Buffer.alloc(MAX_UPLOAD + 1) });
    await page.click('#run');
    await page.waitForSelector('#run-output .run[data-state="error"]');
    expect(await page.locator('#run-output .status').textContent()).toMatch(/^error 413 \(invalid-option\): The upload is \d+ bytes, over this server's limit of 1048576 bytes/);
    await page.screenshot({ path: join(RESULTS, 'server-413.png'), fullPage: true });
  }, 60_000);

  it('a POST from a page of another origin is refused (403), before any run', async () => {
    let other: Server | undefined;
    try {
      other = createServer((_request, response) => {
        response.writeHead(200, { 'content-type': 'text/html' });
        response.end(
          `<!doctype html><form id="f" method="post" enctype="multipart/form-data" action="${server.url}api/runs">` +
            '<input name="question" value="hi"></form><script>document.getElementById("f").submit()</script>',
        );
      });
      await new Promise<void>((resolve) => other!.listen(0, '127.0.0.1', resolve));
      const origin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      const answer = page.waitForResponse((response) => response.url() === `${server.url}api/runs`);
      await page.goto(origin);
      const response = await answer;
      expect(response.status()).toBe(403);
      expect(((await response.json()) as { error: { message: string } }).error.message).toBe(
        `Requests from ${origin} are refused: only this server's own page (http://127.0.0.1:${server.port} or http://localhost:${server.port}) may call it.`,
      );
      const health = (await (await fetch(new URL('healthz', server.url))).json()) as { requests: number };
      expect(health.requests).toBe(0);
    } finally {
      await new Promise((resolve) => other?.close(resolve));
    }
  }, 60_000);

  it('the page needed nothing outside 127.0.0.1 and raised no errors', () => {
    expect(offsite).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
