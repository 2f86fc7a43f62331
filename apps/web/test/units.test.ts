import { describe, expect, it } from 'vitest';
import { IcotError } from '@icot/core';
import { demoModel } from '@icot/demo-model';
import { ATTENTION_SHIFT_DEMO_SETTINGS } from '@icot/trigger-attention-shift';
import { readEventStream, type StreamEvent } from '../app/src/events.js';
import { strategyOptions, DEFAULT_STRATEGY } from '../app/src/strategy-form.js';
import { DEFAULT_WEB_LIMITS, parseWebOptions } from '../src/index.js';
import { ModelBusy, ServedModel, servedModels } from '../src/models.js';
import { checkRating } from '../src/ratings.js';
import { resolveRunRequest } from '../src/run-request.js';
import { staticPath } from '../src/static.js';

const thrown = (f: () => unknown): IcotError => {
  try {
    f();
  } catch (error) {
    if (IcotError.is(error)) return error;
    throw error;
  }
  throw new Error('nothing was thrown');
};

describe('parseWebOptions', () => {
  it('defaults: port 8790, the demo model, no ratings folder, the default limits', () => {
    expect(parseWebOptions([])).toEqual({ port: 8790, models: [], modelSettings: {}, dataDir: undefined, limits: DEFAULT_WEB_LIMITS, quiet: false });
    expect(parseWebOptions(['--help'])).toBeUndefined();
  });

  it('flags: models (folders made absolute, hub ids kept), settings, limits', () => {
    const options = parseWebOptions(['--port', '0', '--model', demoModel.dir, '--model', 'onnx-community/Qwen2-VL-2B-Instruct', '--dtype', 'q4', '--max-upload-bytes', '2048', '--queue', '0', '--run-timeout', '9', '--data-dir', 'ratings'])!;
    expect(options.port).toBe(0);
    expect(options.models).toEqual([demoModel.dir.replace(/\/$/, ''), 'onnx-community/Qwen2-VL-2B-Instruct']);
    expect(options.modelSettings).toEqual({ dtype: 'q4' });
    expect(options.limits).toEqual({ ...DEFAULT_WEB_LIMITS, maxUploadBytes: 2048, queue: 0, runTimeoutSeconds: 9 });
    expect(options.dataDir).toMatch(/^\/.*\/ratings$/);
  });

  it('bad flags fail with OptionError naming the flag', () => {
    expect(thrown(() => parseWebOptions(['--port', '70000'])).message).toBe("--port must be an integer from 0 to 65535, got '70000'.");
    expect(thrown(() => parseWebOptions(['--model', './no/such/folder'])).message).toBe('--model ./no/such/folder: no such folder, and not a hub id (owner/name).');
    expect(thrown(() => parseWebOptions(['--backend', 'tf'])).hint).toBe('Use one of: onnx, transformers.');
    expect(thrown(() => parseWebOptions(['--max-upload-bytes', '12'])).message).toMatch(/from 1024/);
    expect(thrown(() => parseWebOptions(['--nope'])).code).toBe('invalid-option');
  });
});

describe('staticPath', () => {
  it('maps URL paths into the app folder and nothing outside it', () => {
    expect(staticPath('/app', '/')).toBe('/app/index.html');
    expect(staticPath('/app', '/assets/index-1.js')).toBe('/app/assets/index-1.js');
    expect(staticPath('/app', '/demo-model/onnx/vision_encoder.onnx')).toBe('/app/demo-model/onnx/vision_encoder.onnx');
    for (const path of ['/../etc/passwd', '/%2e%2e/etc/passwd', '/a/%2E%2E/%2E%2E/x', '/..%5c..%5cx', '/%00', '/.env', '/%E0%A4%A']) expect(staticPath('/app', path), path).toBeUndefined();
  });
});

describe('resolveRunRequest', () => {
  const models = servedModels([], {}, 1, {});
  const input = { options: undefined as unknown, question: 'What?', image: new Uint8Array([1]), imageName: 'a.png' };

  it('the demo model gets its signal token and, for the other triggers, their demo settings; other options pass as given', () => {
    const plain = resolveRunRequest(input, models, DEFAULT_WEB_LIMITS);
    expect(plain.options).toEqual({ model: 'demo', trigger: { signal: { tokenIds: [...demoModel.signalTokenIds] }, every: 2 }, maxNewTokens: 128, maxImagePixels: DEFAULT_WEB_LIMITS.maxImagePixels });
    expect(plain.description.model.source).toBe(demoModel.dir);
    expect(plain.description.images).toEqual([{ bytes: input.image, name: 'a.png' }]);
    expect(plain.description.prompt).toEqual({ question: 'What?' });
    const shift = resolveRunRequest({ ...input, options: { trigger: { name: 'attention-shift' }, k: 4 } }, models, DEFAULT_WEB_LIMITS);
    expect(shift.options.trigger).toEqual({ name: 'attention-shift', options: ATTENTION_SHIFT_DEMO_SETTINGS });
    expect(shift.options.k).toBe(4);
    const newline = resolveRunRequest({ ...input, options: { trigger: { signal: 'newline', every: 1 } } }, models, DEFAULT_WEB_LIMITS);
    expect(newline.options.trigger).toEqual({ signal: 'newline', every: 1 });
  });

  it('a lower maxImagePixels is kept, a higher one capped at the server limit', () => {
    expect(resolveRunRequest({ ...input, options: { maxImagePixels: 10 } }, models, DEFAULT_WEB_LIMITS).description.maxImagePixels).toBe(10);
    expect(resolveRunRequest({ ...input, options: { maxImagePixels: 1e12 } }, models, DEFAULT_WEB_LIMITS).description.maxImagePixels).toBe(DEFAULT_WEB_LIMITS.maxImagePixels);
  });

  it('options that name files are refused at any depth', () => {
    expect(thrown(() => resolveRunRequest({ ...input, options: { selector: { name: 'segmentation', options: { nested: { cacheDir: '/x' } } } } }, models, DEFAULT_WEB_LIMITS)).message).toMatch(
      /option 'cacheDir' is not accepted by this server/,
    );
    expect(thrown(() => resolveRunRequest({ ...input, options: { trigger: { name: 'probability-gap', options: { modelPath: 'x' } } } }, models, DEFAULT_WEB_LIMITS)).message).toMatch(/option 'modelPath'/);
  });
});

describe('ServedModel queue', () => {
  it('one run holds the model, `queue` wait in order, the next is refused with a Retry-After; aborting a waiting run gives its place up', async () => {
    const model = new ServedModel('m', 'm', false, { source: '/m' }, 2, {});
    const a = model.reserve();
    const b = model.reserve();
    const c = model.reserve();
    expect(model.reserve()).toBeInstanceOf(ModelBusy);
    if (a instanceof ModelBusy || b instanceof ModelBusy || c instanceof ModelBusy) throw new Error('unexpected');
    const order: string[] = [];
    const positions: number[] = [];
    await a.acquire(new AbortController().signal, () => order.push('a queued'));
    const bDone = b.acquire(new AbortController().signal, (p) => positions.push(p)).then(() => order.push('b'));
    const cAbort = new AbortController();
    const cDone = c.acquire(cAbort.signal, (p) => positions.push(p)).catch((e: IcotError) => order.push(`c ${e.code}`));
    expect(model.load).toEqual({ running: true, waiting: 2 });
    expect(positions).toEqual([1, 2]);
    cAbort.abort();
    await cDone;
    expect(model.load).toEqual({ running: true, waiting: 1 });
    a.release();
    await bDone;
    expect(order).toEqual(['c aborted', 'b']);
    const busy = (() => {
      model.reserve();
      model.reserve();
      return model.reserve();
    })();
    expect(busy).toBeInstanceOf(ModelBusy);
    expect((busy as ModelBusy).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    await model.runner.close();
  });
});

describe('checkRating', () => {
  const good = {
    model: 'demo',
    question: 'q',
    image: { name: 'a.png', sha256: 'f'.repeat(64), width: 2, height: 2 },
    step: 3,
    stepText: 't',
    regions: [
      { strategy: 'ads', selected: [1] },
      { strategy: 'random', selected: [2], options: { k: 1 } },
    ],
    choice: 'first',
    unknownField: 'dropped',
  };
  it('keeps the known fields, refuses malformed ratings', () => {
    expect(checkRating(good)).toEqual({ ...good, regions: [{ strategy: 'ads', options: {}, selected: [1] }, good.regions[1]], unknownField: undefined });
    expect(thrown(() => checkRating({ ...good, regions: [good.regions[0]] })).message).toMatch(/exactly two regions/);
    expect(thrown(() => checkRating({ ...good, image: { ...good.image, sha256: 'xyz' } })).message).toMatch(/sha256/);
    expect(thrown(() => checkRating({ ...good, regions: [good.regions[0], { strategy: 'r', selected: [-1] }] })).message).toMatch(/selected\[0\] must be an integer >= 0/);
  });
});

describe('the page\'s pieces', () => {
  it('readEventStream splits server-sent events across chunk borders and skips comments', async () => {
    const text = ': keep-alive\n\nevent: token\ndata: {"type":"token","step":0,"token":5}\n\nevent: text-delta\ndata: {"type":"text-delta","step":0,"text":"é\\n"}\n\n';
    const bytes = new TextEncoder().encode(text);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 7) controller.enqueue(bytes.subarray(i, i + 7)); // splits the two-byte é too
        controller.close();
      },
    });
    const events: StreamEvent[] = [];
    await readEventStream(stream, (e) => events.push(e));
    expect(events).toEqual([
      { type: 'token', step: 0, token: 5 },
      { type: 'text-delta', step: 0, text: 'é\n' },
    ]);
  });

  it('strategyOptions turns the form into RunDescription fields', () => {
    expect(strategyOptions(DEFAULT_STRATEGY)).toEqual({ selector: { name: 'ads' }, decoder: { name: 'input' }, maxInsertions: 3 });
    expect(strategyOptions({ ...DEFAULT_STRATEGY, signal: 'ids', signalIds: '64, 7', every: 1, k: '8', selectorOptions: '{"attention":"context-enhanced"}' })).toEqual({
      selector: { name: 'ads', options: { attention: 'context-enhanced' } },
      decoder: { name: 'input' },
      maxInsertions: 3,
      k: 8,
      trigger: { signal: { tokenIds: [64, 7] }, every: 1 },
    });
    expect(strategyOptions({ ...DEFAULT_STRATEGY, trigger: 'probability-gap', triggerOptions: '{"threshold":0.3}' }).trigger).toEqual({ name: 'probability-gap', options: { threshold: 0.3 } });
    expect(() => strategyOptions({ ...DEFAULT_STRATEGY, selectorOptions: '{' })).toThrow(/Selector options is not valid JSON/);
    expect(() => strategyOptions({ ...DEFAULT_STRATEGY, signal: 'ids', signalIds: 'a' })).toThrow(/integers >= 0/);
  });
});
