import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortedError, createSignalTrigger, ImageError, ModelFilesError } from '@icot/core';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { demoModel } from '@icot/demo-model';
import { createAdsSelector } from '@icot/selector-ads';
import { createWebRunner, type WebRunDescription, type WebRunEvent, type WorkerLike } from '../src/client.js';
import type { PageMessage, WorkerMessage } from '../src/protocol.js';
import { serveWebRuns, type WorkerScope } from '../src/worker.js';
import { serveStatic, type StaticServer } from './support/static-server.js';

/**
 * A worker and its page in one thread: messages cross as structured clones on later macrotasks, as
 * between a page and a Web Worker; `terminate` cuts the worker off (its pending work is ignored).
 */
function inProcessWorker(created: { count: number }): WorkerLike {
  created.count++;
  const toPage: ((event: { data: WorkerMessage }) => void)[] = [];
  const toWorker: ((event: { data: PageMessage }) => void)[] = [];
  let terminated = false;
  const scope: WorkerScope = {
    postMessage: (message) => setTimeout(() => !terminated && toPage.forEach((l) => l({ data: structuredClone(message) }))),
    addEventListener: (_type, listener) => toWorker.push(listener),
  };
  serveWebRuns({
    scope,
    createStrategies: (description) => {
      const signal = description.trigger?.signal;
      return {
        selector: createAdsSelector(),
        decoder: createInputInsertionDecoder(),
        trigger: createSignalTrigger({ signal: signal ?? 'newline', every: description.trigger?.every ?? 2 }),
      };
    },
  });
  return {
    postMessage: (message) => setTimeout(() => !terminated && toWorker.forEach((l) => l({ data: structuredClone(message) }))),
    addEventListener: ((type: string, listener: (event: { data: WorkerMessage }) => void) => {
      if (type === 'message') toPage.push(listener);
    }) as WorkerLike['addEventListener'],
    terminate: () => void (terminated = true),
  };
}

let server: StaticServer;
let image: Uint8Array;
beforeAll(async () => {
  server = await serveStatic({ '/model/': demoModel.dir });
  image = new Uint8Array(await readFile(demoModel.image));
});
afterAll(() => server.close());

const description = (overrides: Partial<WebRunDescription> = {}): WebRunDescription => ({
  model: { source: `${server.origin}/model/` },
  images: [{ bytes: image, name: 'image.png' }],
  prompt: { question: demoModel.question },
  trigger: { signal: { tokenIds: demoModel.signalTokenIds }, every: 2 },
  k: 16,
  maxNewTokens: 32,
  ...overrides,
});

describe('WebRunner + serveWebRuns (a worker in this thread, the demo model over HTTP)', () => {
  it('streams a whole run in order, reuses the loaded model, and queues runs', async () => {
    const created = { count: 0 };
    const runner = createWebRunner({ createWorker: () => inProcessWorker(created) });
    const events: WebRunEvent[] = [];
    const [first, second] = await Promise.all([runner.run(description(), { onEvent: (e) => events.push(e) }), runner.run(description())]);
    const types = [...new Set(events.map((e) => e.type))];
    expect(types.slice(0, 5)).toEqual(['model-loading', 'download', 'model-loaded', 'images-encoded', 'start']);
    expect(types.at(-1)).toBe('finish');
    expect(events.find((e) => e.type === 'model-loaded')).toMatchObject({ reused: false, provider: 'onnxruntime-web', family: 'qwen2-vl', executionProviders: ['wasm'] });
    expect(first.result.insertions.length).toBeGreaterThan(0);
    expect(first.tokenTexts.join('')).toBe(first.result.text);
    expect(second.result.tokens).toEqual(first.result.tokens);
    expect(created.count).toBe(1);
    expect(server.requests.filter((r) => r === 'GET /model/onnx/decoder_model_merged.onnx')).toHaveLength(1); // loaded once for both runs
    runner.dispose();
  });

  it('cancels: a queued run at once, a running one at its next step, and a stuck one by terminating its worker', async () => {
    const created = { count: 0 };
    const runner = createWebRunner({ createWorker: () => inProcessWorker(created), abortGraceMs: 5_000 });
    const controller = new AbortController();
    const queued = new AbortController();
    const running = runner.run(description({ maxNewTokens: 64 }), { signal: controller.signal, onEvent: (e) => e.type === 'token' && e.step === 3 && controller.abort() });
    const waiting = runner.run(description(), { signal: queued.signal });
    queued.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortedError);
    await expect(running).rejects.toBeInstanceOf(AbortedError);
    expect(created.count).toBe(1); // stopped at its next step: the worker lives on
    // a worker that does not stop in time is terminated, and the next run gets a new one
    const impatient = createWebRunner({ createWorker: () => inProcessWorker(created), abortGraceMs: 0 });
    const stuck = new AbortController();
    const run = impatient.run(description(), { signal: stuck.signal, onEvent: (e) => e.type === 'model-loading' && stuck.abort() });
    await expect(run).rejects.toThrow(/worker was stopped/);
    const after = await impatient.run(description({ maxNewTokens: 4 }));
    expect(after.result.tokens).toHaveLength(4);
    expect(created.count).toBe(3);
    runner.dispose();
    impatient.dispose();
  });

  it('sends typed errors back: a missing model file, an unreadable image', async () => {
    const runner = createWebRunner({ createWorker: () => inProcessWorker({ count: 0 }) });
    const missing = await runner.run(description({ model: { source: `${server.origin}/nothing/` } })).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ModelFilesError);
    expect((missing as ModelFilesError).missing).toContain('config.json');
    expect((missing as ModelFilesError).message).toContain(`${server.origin}/nothing/`);
    const broken = await runner.run(description({ images: [{ bytes: new Uint8Array([1, 2, 3]), name: 'x.png' }] })).catch((e: unknown) => e);
    expect(broken).toBeInstanceOf(ImageError);
    expect((broken as ImageError).message).toContain('x.png');
    runner.dispose();
  });
});
