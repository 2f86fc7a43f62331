/**
 * The worker side of `@icot/backend-web`: call {@link serveWebRuns} at the top of the app's own
 * worker module, with the strategy factory the app wants (selectors, decoders and triggers are the
 * app's choice, so this backend depends on none of them). The worker then loads models, decodes
 * images and runs ICoT for `@icot/backend-web/client` on the page.
 * @module
 */
import {
  AbortedError,
  generateICoT,
  imageTiles,
  type InsertionDecoderV2,
  type PatchSelectorV2,
  type PromptInput,
  type RgbImage,
  type TriggerV2,
} from '@icot/core';
import { parseDtype } from '@icot/model';
import { decodeBrowserImage } from './image.js';
import { loadWebModel, type WebModel } from './load.js';
export type { PageMessage, WebRunDescription, WorkerMessage } from './protocol.js';
import { toWireError, type PageMessage, type WebEncodedImageInfo, type WebLoadedModelInfo, type WebRunDescription, type WebRunEvent, type WorkerMessage } from './protocol.js';
import type { OnnxRuntimeWebSettings } from './sessions.js';

/** The strategy objects of one run. */
export interface WebStrategies {
  readonly selector: PatchSelectorV2;
  readonly decoder: InsertionDecoderV2;
  readonly trigger: TriggerV2;
}

/** Options of {@link serveWebRuns}. */
export interface ServeWebRunsOptions extends OnnxRuntimeWebSettings {
  /**
   * Build the selector, decoder and trigger a description names (its `selector`, `decoder`,
   * `trigger` fields are passed through untouched); `model` is the loaded model (e.g. to check
   * signal token ids against its vocabulary). Throw an `OptionError` for names it does not know.
   */
  readonly createStrategies: (description: WebRunDescription, model: WebModel) => WebStrategies | Promise<WebStrategies>;
  /** The worker's global scope (default `globalThis`). */
  readonly scope?: WorkerScope;
}

/** What {@link serveWebRuns} needs of a worker's global scope. */
export interface WorkerScope {
  postMessage(message: WorkerMessage): void;
  addEventListener(type: 'message', listener: (event: { readonly data: PageMessage }) => void): void;
}

/**
 * Serve ICoT runs in this worker: one run at a time (the page's client queues them), the last
 * model kept loaded for the next run with the same model description (a different one releases
 * it first). An `abort` message stops the run at its next step; a run stuck in one long
 * onnxruntime call (a prefill) cannot be interrupted, which is why the client terminates the
 * worker when the run does not stop in time.
 */
export function serveWebRuns(options: ServeWebRunsOptions): void {
  const scope = options.scope ?? (globalThis as unknown as WorkerScope);
  let loaded: { key: string; model: WebModel } | undefined;
  const running = new Map<number, AbortController>();
  let queue: Promise<void> = Promise.resolve();
  const post = (message: WorkerMessage): void => scope.postMessage(message);

  const modelFor = async (description: WebRunDescription, emit: (event: WebRunEvent) => void, signal: AbortSignal): Promise<{ model: WebModel; reused: boolean }> => {
    const key = JSON.stringify(description.model);
    if (loaded?.key === key) return { model: loaded.model, reused: true };
    if (loaded) {
      const previous = loaded.model;
      loaded = undefined;
      await previous.dispose();
    }
    const m = description.model;
    emit({ type: 'model-loading', source: m.source });
    const model = await loadWebModel(m.source, {
      ...(options.wasmPaths !== undefined ? { wasmPaths: options.wasmPaths } : {}),
      ...(options.numThreads !== undefined ? { numThreads: options.numThreads } : {}),
      ...(m.dtype ? { dtype: parseDtype(m.dtype) } : {}),
      ...(m.device ? { device: m.device } : {}),
      ...(m.attentionLayers ? { attentionLayers: m.attentionLayers } : {}),
      files: { ...(m.cache !== undefined ? { cache: m.cache } : {}), onProgress: (p) => emit({ type: 'download', ...p }) },
      signal,
    });
    loaded = { key, model };
    return { model, reused: false };
  };

  const run = async (id: number, description: WebRunDescription, signal: AbortSignal): Promise<void> => {
    const emit = (event: WebRunEvent): void => post({ type: 'event', id, event });
    const pixels: RgbImage[] = [];
    for (const [i, image] of description.images.entries())
      pixels.push(
        await decodeBrowserImage(image.bytes, {
          name: image.name ?? `image ${i + 1}`,
          ...(description.maxImagePixels !== undefined ? { maxPixels: description.maxImagePixels } : {}),
          ...(description.imageAlpha ? { alpha: description.imageAlpha } : {}),
          ...(description.jpegDecoder ? { jpeg: description.jpegDecoder } : {}),
        }),
      );
    const { model, reused } = await modelFor(description, emit, signal);
    const info: WebLoadedModelInfo = { modelId: model.modelId, family: model.family.name, provider: model.provider, executionProviders: model.executionProviders };
    emit({ type: 'model-loaded', reused, ...info });
    const encoded = [];
    const images: WebEncodedImageInfo[] = [];
    for (const rgb of pixels) {
      const image = await model.encodeImage(rgb, { signal });
      encoded.push(image);
      images.push({ width: rgb.width, height: rgb.height, rows: image.grid.rows, cols: image.grid.cols, tiles: imageTiles(image).length, patches: image.patchCount });
    }
    emit({ type: 'images-encoded', images });
    const prompt: PromptInput =
      'text' in description.prompt
        ? { text: description.prompt.text, images: encoded }
        : { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: description.prompt.question }] }], images: encoded };
    const strategies = await options.createStrategies(description, model);
    const tokenTexts: string[] = [];
    const result = await generateICoT({
      model,
      prompt,
      ...strategies,
      ...(description.k !== undefined ? { k: description.k } : {}),
      ...(description.maxInsertions !== undefined ? { maxInsertions: description.maxInsertions } : {}),
      ...(description.insertAfterPrompt !== undefined ? { insertAfterPrompt: description.insertAfterPrompt } : {}),
      ...(description.excludeSelected !== undefined ? { excludeSelected: description.excludeSelected } : {}),
      ...(description.maxNewTokens !== undefined ? { maxNewTokens: description.maxNewTokens } : {}),
      ...(description.sampling ? { sampling: description.sampling } : {}),
      signal,
      onEvent: (event) => {
        if (event.type === 'token') tokenTexts.push(model.tokenizer.decode([event.token]));
        emit(event);
      },
    }).finally(() => disposeStrategies(strategies)); // e.g. a detector a selector loaded
    post({ type: 'done', id, outcome: { result, model: info, images, tokenTexts } });
  };

  scope.addEventListener('message', ({ data }) => {
    if (data.type === 'abort') {
      running.get(data.id)?.abort(new AbortedError());
      return;
    }
    if (data.type === 'release') {
      queue = queue.then(async () => {
        const model = loaded?.model;
        loaded = undefined;
        await model?.dispose();
        post({ type: 'released' });
      });
      return;
    }
    const controller = new AbortController();
    running.set(data.id, controller);
    queue = queue.then(() =>
      (controller.signal.aborted ? Promise.reject(new AbortedError()) : run(data.id, data.description, controller.signal))
        .catch((error: unknown) => post({ type: 'error', id: data.id, error: toWireError(error) }))
        .finally(() => running.delete(data.id)),
    );
  });
}

/** Release what strategies hold, when they can. */
async function disposeStrategies(strategies: WebStrategies): Promise<void> {
  for (const strategy of [strategies.selector, strategies.decoder, strategies.trigger]) {
    const dispose = (strategy as { dispose?: () => unknown }).dispose;
    if (typeof dispose === 'function') await dispose.call(strategy);
  }
}
