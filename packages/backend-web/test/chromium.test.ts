import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import ort from 'onnxruntime-node';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRandom, createSignalTrigger, generateICoT, type ICoTResult } from '@icot/core';
import { loadOnnxModel } from '@icot/backend-onnx';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { demoModel } from '@icot/demo-model';
import { decodeImage, readImageFile } from '@icot/image/node';
import { prepareDecoder } from '@icot/onnx-decoding';
import { createAdsSelector } from '@icot/selector-ads';
import { buildDecoder, normal, type DecoderSpec } from '@icot/testing';
import { ONNXRUNTIME_WEB_FILES, onnxRuntimeWebDir } from '../src/assets.js';
import type { WebRunDescription, WebRunOutcome } from '../src/protocol.js';
import { serveStatic, type StaticServer } from './support/static-server.js';

/**
 * The backend in a real browser: Debian's Chromium (`/usr/bin/chromium`, or ICOT_CHROMIUM) driven
 * by playwright-core, headless, every request not to 127.0.0.1 refused. The test page and its model
 * worker are bundled here with esbuild and served from 127.0.0.1 with onnxruntime-web's wasm files.
 */
const CHROMIUM = process.env['ICOT_CHROMIUM'] ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const GOLDENS = fileURLToPath(new URL('../../image/test/goldens/', import.meta.url));

type PageApi = Window['icotTest'];

let server: StaticServer;
let browser: Browser;
let page: Page;
let out: string;
const offsite: string[] = [];
const consoleLines: string[] = [];

/** Call a method of the test page's `window.icotTest`. */
function call<K extends keyof PageApi>(name: K, ...args: Parameters<PageApi[K]>): Promise<Awaited<ReturnType<PageApi[K]>>> {
  return page.evaluate(([method, list]) => (window.icotTest[method as K] as (...a: unknown[]) => unknown)(...(list as unknown[])), [name, args] as const) as never;
}

async function bundlePage(dir: string): Promise<void> {
  const image = createRequire(import.meta.url).resolve('@icot/image/package.json');
  await build({
    entryPoints: { main: fileURLToPath(new URL('./page/main.ts', import.meta.url)), worker: fileURLToPath(new URL('./page/worker.ts', import.meta.url)) },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['@icot/source'],
    alias: { pngjs: createRequire(image).resolve('pngjs/browser.js') }, // what browserBundleAliases() gives
    outdir: dir,
    logLevel: 'error',
  });
}

describe.skipIf(!hasChromium)(`in headless Chromium (${CHROMIUM})`, () => {
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'icot-web-page-'));
    await bundlePage(out);
    server = await serveStatic({
      '/index.html': { body: '<!doctype html><html><head><meta charset="utf-8"></head><body><script type="module" src="/main.js"></script></body></html>', type: 'text/html' },
      '/main.js': join(out, 'main.js'),
      '/worker.js': join(out, 'worker.js'),
      '/ort/': onnxRuntimeWebDir(),
      '/model/': demoModel.dir,
      '/goldens/': GOLDENS,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--enable-unsafe-webgpu'] });
    const context = await browser.newContext();
    await context.route('**/*', (route) => (new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : (offsite.push(route.request().url()), route.abort())));
    page = await context.newPage();
    page.on('console', (message) => consoleLines.push(message.text()));
    await page.goto(`${server.origin}/index.html`);
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (out) await rm(out, { recursive: true, force: true });
  });

  const demoDescription: Omit<WebRunDescription, 'images'> = {
    model: { source: '/model/' },
    prompt: { question: demoModel.question },
    selector: { name: 'ads' },
    decoder: { name: 'input' },
    trigger: { signal: { tokenIds: demoModel.signalTokenIds }, every: 2 },
    k: 16,
    maxInsertions: 3,
    maxNewTokens: 48,
  };

  async function nodeDemoRun(): Promise<ICoTResult> {
    const model = await loadOnnxModel(demoModel.dir);
    try {
      return await generateICoT({
        model,
        prompt: { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: demoModel.question }] }], images: [await model.encodeImage(await readImageFile(demoModel.image))] },
        selector: createAdsSelector(),
        decoder: createInputInsertionDecoder(),
        trigger: createSignalTrigger({ signal: { tokenIds: demoModel.signalTokenIds }, every: 2 }),
        k: 16,
        maxInsertions: 3,
        maxNewTokens: 48,
      });
    } finally {
      await model.dispose();
    }
  }

  it('runs ICoT on the demo model entirely in the page, with the Node backend tokens, insertion steps, patches and attention rows (1e-5)', async () => {
    const { events, outcome } = (await call('run', demoDescription, ['/model/image.png'])) as { events: string[]; outcome: WebRunOutcome };
    const node = await nodeDemoRun();
    expect(outcome.model).toMatchObject({ provider: 'onnxruntime-web', executionProviders: ['wasm'] });
    expect(events[0]).toBe('model-loading');
    expect(events.at(-1)).toBe('finish');
    const web = outcome.result;
    expect(web.tokens).toEqual(node.tokens);
    expect(web.text).toBe(node.text);
    expect(web.insertions.length).toBeGreaterThan(0);
    expect(web.insertions.map((i) => ({ step: i.step, selected: i.selected }))).toEqual(node.insertions.map((i) => ({ step: i.step, selected: i.selected })));
    for (const [n, insertion] of web.insertions.entries()) {
      const expected = node.insertions[n]!.attention!;
      let max = 0;
      insertion.attention!.forEach((v, j) => (max = Math.max(max, Math.abs(v - expected[j]!))));
      expect(max).toBeLessThan(1e-5);
    }
  });

  it('cancels a run in the page; the worker serves the next one', async () => {
    const cancelled = await call('cancel', { ...demoDescription, maxNewTokens: 64 }, ['/model/image.png'], 3);
    expect(cancelled).toMatchObject({ rejected: true, code: 'aborted' });
    const { outcome } = (await call('run', { ...demoDescription, maxNewTokens: 4 }, ['/model/image.png'])) as { outcome: WebRunOutcome };
    expect(outcome.result.tokens).toHaveLength(4);
  });

  it("decodes every PNG golden in the page exactly as Pillow (and Node's @icot/image) does", async () => {
    const manifest = JSON.parse(await readFile(join(GOLDENS, 'manifest.json'), 'utf8')) as { cases: { input: string; composite: string; drop: string }[] };
    const pngs = manifest.cases.filter((c) => c.input.endsWith('.png'));
    expect(pngs.length).toBeGreaterThan(20);
    for (const c of pngs)
      for (const alpha of ['composite', 'drop'] as const) {
        const got = await call('decode', `/goldens/${c.input}`, 'browser', alpha);
        const expected = await decodeImage(await readFile(join(GOLDENS, c[alpha])));
        expect({ file: c.input, alpha, width: got.width, height: got.height }).toEqual({ file: c.input, alpha, width: expected.width, height: expected.height });
        expect(Buffer.from(got.base64, 'base64').equals(Buffer.from(expected.data)), `${c.input} (${alpha})`).toBe(true);
      }
  });

  it("decodes JPEG in the page: the browser's decoder (Chromium's libjpeg-turbo) as Pillow, except CMYK (1 level) and XMP-only orientation; jpeg-js far off (the README's table)", async () => {
    const manifest = JSON.parse(await readFile(join(GOLDENS, 'manifest.json'), 'utf8')) as { cases: { input: string; composite: string }[] };
    const rows: string[] = [];
    const results = new Map<string, Record<'browser' | 'jpeg-js', { max: number; share: number } | 'size'>>();
    for (const c of manifest.cases.filter((x) => x.input.endsWith('.jpg'))) {
      const expected = await decodeImage(await readFile(join(GOLDENS, c.composite)));
      const result = {} as Record<'browser' | 'jpeg-js', { max: number; share: number } | 'size'>;
      for (const decoder of ['browser', 'jpeg-js'] as const) {
        const got = await call('decode', `/goldens/${c.input}`, decoder, 'composite');
        if (got.width !== expected.width || got.height !== expected.height) {
          result[decoder] = 'size';
          continue;
        }
        const data = Buffer.from(got.base64, 'base64');
        let max = 0;
        let differing = 0;
        for (let i = 0; i < data.length; i++) {
          const d = Math.abs(data[i]! - expected.data[i]!);
          if (d) differing++;
          max = Math.max(max, d);
        }
        result[decoder] = { max, share: differing / data.length };
      }
      const name = c.input.replace('inputs/', '');
      results.set(name, result);
      const cell = (r: { max: number; share: number } | 'size') => (r === 'size' ? 'not rotated (orientation only in XMP)' : r.max === 0 ? 'exact' : `max ${r.max} levels, ${(100 * r.share).toFixed(0)}% of samples`);
      rows.push(`| ${name} | ${cell(result.browser)} | ${cell(result['jpeg-js'])} |`);
    }
    console.log(`| file | browser | jpeg-js |\n| --- | --- | --- |\n${rows.join('\n')}`);
    expect(results.size).toBeGreaterThan(10);
    for (const [name, result] of results) {
      if (name === 'jpeg-cmyk.jpg') expect(result.browser).toMatchObject({ max: 1 }); // Skia's CMYK -> RGB rounds differently from Pillow's
      else if (name === 'jpeg-xmp-6.jpg') expect(result.browser).toBe('size'); // Chromium reads EXIF orientation only
      else expect(result.browser, name).toEqual({ max: 0, share: 0 });
    }
    expect(results.get('jpeg-420.jpg')!['jpeg-js']).not.toEqual({ max: 0, share: 0 });
  });

  it("recomputes GroupQueryAttention's attention row on WebGPU as the CPU's qk_output gives it (1e-4)", async (context) => {
    const probe = await call('webgpu');
    if (!probe.available) {
      context.skip(`no WebGPU adapter in this Chromium: ${'reason' in probe ? probe.reason : ''}`);
      return;
    }
    const spec: DecoderSpec = { hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 96, vocab: 50, ropeTheta: 10000, attention: 'group-query-attention', seed: 33 };
    const bytes = buildDecoder(spec);
    const onGpu = prepareDecoder(bytes, 'gqa.onnx', { fusedAttentionTap: 'recompute', logits: 'all' });
    const onCpu = prepareDecoder(bytes, 'gqa.onnx', { fusedAttentionTap: 'qk-output', logits: 'all' });
    const headDim = spec.hidden / spec.heads;
    const random = createRandom(8);
    consoleLines.length = 0;
    const steps = [13, 1, 3, 1].map((length) => ({ length, embeds: Array.from(normal(random, length * spec.hidden, 1)) }));
    const taps = onGpu.tapOutputs!;
    const gpu = await call('decoderSteps', Array.from(onGpu.bytes), 'webgpu', steps, spec.hidden, spec.layers, spec.kvHeads, headDim, [...taps, 'logits']);
    // the reference: onnxruntime-node's CPU kernel with qk_output, fed the same inputs
    const session = await ort.InferenceSession.create(onCpu.bytes);
    let past: Record<string, ort.Tensor> = {};
    for (let l = 0; l < spec.layers; l++) for (const kind of ['key', 'value']) past[`past_key_values.${l}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, spec.kvHeads, 0, headDim]);
    let total = 0;
    let worst = 0;
    for (const [i, step] of steps.entries()) {
      total += step.length;
      const cpu = await session.run({
        ...past,
        inputs_embeds: new ort.Tensor('float32', Float32Array.from(step.embeds), [1, step.length, spec.hidden]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
        position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: step.length }, (_, j) => BigInt(total - step.length + j)), [1, step.length]),
      });
      for (const tap of taps) {
        const row = gpu[i]![tap]!;
        expect(row).toHaveLength(total);
        const expected = cpu[tap]!.data as Float32Array;
        row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - expected[j]!))));
      }
      past = {};
      for (let l = 0; l < spec.layers; l++) for (const kind of ['key', 'value']) past[`past_key_values.${l}.${kind}`] = cpu[`present.${l}.${kind}`]!;
    }
    await session.release();
    // onnxruntime logs each node WebGPU has no kernel for (it runs on wasm instead): the fused
    // attention and the tap's arithmetic must not be among them, or this would not test WebGPU
    const onWasm = [...new Set(consoleLines.filter((l) => l.includes('webgpu kernel not found')).map((l) => /Op type: (\w+)/.exec(l)?.[1]))];
    expect(onWasm.length).toBeGreaterThan(0); // the log was seen (shape arithmetic stays on the CPU)
    expect(onWasm).not.toContain('GroupQueryAttention');
    for (const op of ['MatMul', 'Softmax', 'ReduceMean', 'Transpose', 'Mul', 'Where']) expect(onWasm).not.toContain(op);
    console.log(`WebGPU adapter ${JSON.stringify(probe)}: largest difference of the recomputed rows from the CPU qk_output rows ${worst.toExponential(2)}; on wasm: ${onWasm.join(', ')}`);
    expect(worst).toBeLessThan(1e-4);
  });

  it("made no request outside 127.0.0.1, and took onnxruntime-web's files from the app's own /ort/", () => {
    expect(offsite).toEqual([]);
    for (const file of ONNXRUNTIME_WEB_FILES) expect(server.requests).toContain(`GET /ort/${file}`);
  });
});
