import { errorDocument } from '@icot/core';
import { createWebRunner, type WebRunDescription } from '@icot/backend-web/client';
import { readImageHeader } from '@icot/image';
import type { RunBackend, StreamEvent } from './events.js';

/** The demo model's signal and the settings of the other triggers on it (as `icot web` applies them). */
export interface BrowserDemoDefaults {
  readonly signalTokenIds: readonly number[];
  readonly triggerSettings: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/**
 * Runs in this page: the demo model (served by the app under `demo-model/`) on onnxruntime-web in a
 * Web Worker (`@icot/backend-web`), on WebAssembly or WebGPU. The options are the server's
 * (RunDescription names), with the same demo defaults: the demo's signal token when no trigger is
 * named, the demo settings for a trigger named without options. Stopping a run aborts it at the
 * next step, or terminates the worker if it does not stop within a second (a long prefill).
 */
export function browserBackend(device: 'wasm' | 'webgpu', defaults: BrowserDemoDefaults): RunBackend {
  const runner = createWebRunner({ createWorker: () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }) });
  const source = new URL('demo-model/', document.baseURI).href;
  let runs = 0;
  return {
    kind: 'browser',
    async run(input, onEvent, signal) {
      const bytes = new Uint8Array(await input.image.arrayBuffer());
      let trigger = input.options['trigger'] as WebRunDescription['trigger'];
      if (trigger === undefined) trigger = { signal: { tokenIds: [...defaults.signalTokenIds] }, every: 2 };
      else if (trigger.name !== undefined && trigger.options === undefined && defaults.triggerSettings[trigger.name]) trigger = { ...trigger, options: defaults.triggerSettings[trigger.name] };
      const options = { ...input.options, trigger };
      try {
        const header = readImageHeader(bytes, { name: input.imageName });
        onEvent({ type: 'accepted', runId: ++runs, model: input.model, options: { model: input.model, ...options }, image: { name: input.imageName, width: header.width, height: header.height, bytes: bytes.byteLength } });
        const description: WebRunDescription = {
          ...(options as Omit<WebRunDescription, 'model' | 'images' | 'prompt'>),
          model: { source, device },
          images: [{ bytes, name: input.imageName }],
          prompt: { question: input.question },
        };
        await runner.run(description, { signal, onEvent: (event) => onEvent(event as StreamEvent) });
      } catch (error) {
        if (!signal.aborted) onEvent({ type: 'error', error: errorDocument(error).error });
      }
    },
  };
}
