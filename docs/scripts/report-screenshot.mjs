#!/usr/bin/env node
// Re-makes docs/images/report.png, the picture of the HTML report in docs/getting-started.md: runs
// `icot run` on the embedded demo model with --report, renders the page in headless Chromium
// (Debian's `chromium`, driven by playwright-core; `apt-get install -y chromium`) and saves a PNG
// screenshot of it. Usage: node docs/scripts/report-screenshot.mjs [--chromium /usr/bin/chromium]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'docs', 'images', 'report.png');
const { values } = parseArgs({ options: { chromium: { type: 'string', default: '/usr/bin/chromium' } } });
if (!existsSync(values.chromium)) {
  process.stderr.write(`No Chromium at ${values.chromium}: install Debian's (apt-get install -y chromium) or pass --chromium <path>.\n`);
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'icot-report-screenshot-'));
try {
  const report = join(work, 'report.html');
  // the demo run of the getting-started guide: greedy, so the same picture every time
  const run = spawnSync(process.execPath, [join(root, 'scripts', 'run-built.mjs'), '@icot/cli', 'apps/cli/dist/bin.js', 'run', '--quiet', '--max-new-tokens', '32', '--report', report], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (run.status !== 0) throw new Error(`icot run exited with ${run.status}`);

  const browser = await chromium.launch({
    executablePath: values.chromium,
    // as root, offline: no sandbox, no background connections (see the machine notes of the project)
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 }, deviceScaleFactor: 1 });
    await page.goto(pathToFileURL(report).href, { waitUntil: 'load' });
    await page.screenshot({ path: out, fullPage: true });
  } finally {
    await browser.close();
  }
  // fewer colours: the screenshot is mostly flat page colours (imagemagick, when installed)
  const quantize = spawnSync('convert', [out, '-colors', '128', `PNG8:${out}`], { stdio: 'ignore' });
  process.stdout.write(`wrote ${out} (${Math.round(statSync(out).size / 1024)} KiB${quantize.status === 0 ? ', 128 colours' : ''})\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
