// The test page: drives the model worker through the client, and probes onnxruntime-web directly.
import * as ort from 'onnxruntime-web';
import { createWebRunner, type WebRunDescription, type WebRunEvent } from '../../src/client.js';
import { decodeBrowserImage } from '../../src/image.js';

declare global {
  interface Window {
    icotTest: typeof api;
  }
}

ort.env.wasm.wasmPaths = '/ort/';

const runner = createWebRunner({ createWorker: () => new Worker('/worker.js', { type: 'module' }) as never });

const api = {
  /** One ICoT run in the worker, its images fetched from `imageUrls`; the events' types in order and the outcome. */
  async run(description: Omit<WebRunDescription, 'images'>, imageUrls: string[]) {
    const images = await Promise.all(imageUrls.map(async (url) => ({ bytes: new Uint8Array(await (await fetch(url)).arrayBuffer()), name: url })));
    const events: WebRunEvent['type'][] = [];
    const outcome = await runner.run({ ...description, images }, { onEvent: (e) => events.push(e.type) });
    return { events, outcome };
  },
  /** Start a run and cancel it once `afterTokens` tokens streamed; how it ended. */
  async cancel(description: Omit<WebRunDescription, 'images'>, imageUrls: string[], afterTokens: number) {
    const images = await Promise.all(imageUrls.map(async (url) => ({ bytes: new Uint8Array(await (await fetch(url)).arrayBuffer()), name: url })));
    const controller = new AbortController();
    let tokens = 0;
    try {
      await runner.run({ ...description, images }, { signal: controller.signal, onEvent: (e) => e.type === 'token' && ++tokens === afterTokens && controller.abort() });
      return { rejected: false, tokens };
    } catch (error) {
      return { rejected: true, name: (error as Error).name, code: (error as { code?: string }).code, tokens };
    }
  },
  /** Decode the image at `url` as the worker does; the pixels base64-encoded. */
  async decode(url: string, jpeg: 'browser' | 'jpeg-js', alpha: 'composite' | 'drop') {
    const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
    const image = await decodeBrowserImage(bytes, { jpeg, alpha, name: url });
    let binary = '';
    for (let i = 0; i < image.data.length; i += 0x8000) binary += String.fromCharCode(...image.data.subarray(i, i + 0x8000));
    return { width: image.width, height: image.height, base64: btoa(binary) };
  },
  /** What WebGPU gives here. */
  async webgpu() {
    const gpu = (navigator as { gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string }; features: Set<string> } | null> } }).gpu;
    if (!gpu) return { available: false, reason: 'navigator.gpu is undefined' };
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { available: false, reason: 'navigator.gpu.requestAdapter() returned null' };
    return { available: true, info: adapter.info ? { vendor: adapter.info.vendor, architecture: adapter.info.architecture, description: adapter.info.description } : undefined, shaderF16: adapter.features.has('shader-f16') };
  },
  /**
   * Run a decoder graph on onnxruntime-web step by step (each step's presents feed the next):
   * `steps` are the inputs_embeds of each step; returns each step's `fetch` outputs.
   */
  async decoderSteps(graph: number[], provider: 'webgpu' | 'wasm', steps: { embeds: number[]; length: number }[], hidden: number, layers: number, kvHeads: number, headDim: number, fetch: string[]) {
    // verbose logs name the provider each node is placed on (read by the test)
    ort.env.logLevel = 'verbose';
    const session = await ort.InferenceSession.create(new Uint8Array(graph), { executionProviders: [provider], logSeverityLevel: 0, logVerbosityLevel: 0 });
    ort.env.logLevel = 'warning';
    let past: Record<string, ort.Tensor> = {};
    for (let l = 0; l < layers; l++) for (const kind of ['key', 'value']) past[`past_key_values.${l}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
    let total = 0;
    const results: Record<string, number[]>[] = [];
    for (const step of steps) {
      total += step.length;
      const feeds: Record<string, ort.Tensor> = {
        ...past,
        inputs_embeds: new ort.Tensor('float32', Float32Array.from(step.embeds), [1, step.length, hidden]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
        position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: step.length }, (_, i) => BigInt(total - step.length + i)), [1, step.length]),
      };
      const out = await session.run(feeds);
      const result: Record<string, number[]> = {};
      for (const name of fetch) result[name] = Array.from(out[name]!.data as Float32Array);
      results.push(result);
      past = {};
      for (let l = 0; l < layers; l++) for (const kind of ['key', 'value']) past[`past_key_values.${l}.${kind}`] = out[`present.${l}.${kind}`]!;
    }
    await session.release();
    return results;
  },
};

window.icotTest = api;
document.body.dataset['ready'] = 'true';
