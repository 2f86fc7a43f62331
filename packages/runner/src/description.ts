import { OptionError, type ChatMessage, type ICoTEvent, type ICoTResult, type SamplingOptions } from '@icot/core';
import type { DownloadProgress } from '@icot/backend-onnx';
import type { FileHash } from './record.js';

/** Backends a run description can name. */
export const BACKENDS = ['onnx', 'transformers'] as const;
/** Patch selectors a run description can name. */
export const SELECTORS = ['ads', 'random', 'grounding', 'segmentation', 'info-gain'] as const;
/** Triggers a run description can name. */
export const TRIGGERS = ['signal', 'attention-shift', 'probability-gap'] as const;
/** Insertion decoders a run description can name. */
export const DECODERS = ['input', 'kv-copy', 'kv-rebind'] as const;

/** Where a model comes from and how it is loaded. Two runs with equal descriptions can share one loaded model. */
export interface ModelDescription {
  /** Model folder (onnx-community layout) or hub id (`owner/name`). */
  readonly source: string;
  /** `onnx` (onnxruntime-node, default) or `transformers` (transformers.js). */
  readonly backend?: (typeof BACKENDS)[number];
  /** Weight variant: fp32 (default), fp16, q8, q4, q4f16, ... */
  readonly dtype?: string;
  /** onnxruntime threads per operator (onnx backend; default: onnxruntime's choice). */
  readonly threads?: number;
  /** Decoder layers whose attention is averaged for ADS (default all). */
  readonly attentionLayers?: 'all' | readonly number[] | { readonly last: number };
  /** Hub branch, tag or commit (default `main`). */
  readonly revision?: string;
  /** Where hub downloads are cached (default the Hugging Face hub cache). */
  readonly cacheDir?: string;
  /** Never use the network (hub ids must be cached). */
  readonly offline?: boolean;
}

/** An image: a PNG or JPEG file, or its bytes (`name` is used in error messages). */
export type ImageSource = { readonly path: string } | { readonly bytes: Uint8Array; readonly name?: string };

/**
 * The prompt: a question (the query image, then the question, formatted with the model's chat
 * template), chat messages whose `{ type: 'image' }` parts take the images in order (formatted with
 * the template; several images and a system message, as one-shot demonstrations need), or an already
 * formatted prompt.
 */
export type PromptDescription = { readonly question: string } | { readonly messages: readonly ChatMessage[] } | { readonly text: string };

/**
 * A patch selector by name, with its options as its package documents them: `ads`
 * (attention-driven selection, the paper's; `@icot/selector-ads`), `random` (seeded ablation),
 * `grounding` (`@icot/selector-grounding`), `segmentation` (`@icot/selector-segmentation`) or
 * `info-gain` (`@icot/selector-info-gain`). Unknown option names fail.
 */
export interface SelectorDescription {
  readonly name: (typeof SELECTORS)[number];
  /** The selector factory's options (plain JSON). */
  readonly options?: Readonly<Record<string, unknown>>;
}

/** An insertion decoder by name, with its settings. */
export interface DecoderDescription {
  /** `input` (input-end insertion, the paper's), `kv-copy` or `kv-rebind` (KV-cache insertion). */
  readonly name: (typeof DECODERS)[number];
  /** Positions of inserted patches: the official square `grid` (default) or the `source` layout. */
  readonly layout?: 'grid' | 'source';
  /** kv decoders: feed the framing tokens around the copied entries (default true). */
  readonly delimiters?: boolean;
}

/**
 * When insertions happen: the paper's `signal` trigger (default; `signal` and `every`), or
 * `attention-shift` (`@icot/trigger-attention-shift`) / `probability-gap`
 * (`@icot/trigger-probability-gap`) with their `options`.
 */
export interface TriggerDescription {
  /** Which trigger (default `signal`). */
  readonly name?: (typeof TRIGGERS)[number];
  /** The trigger factory's options (plain JSON; not for `signal`, which takes `signal` and `every`). */
  readonly options?: Readonly<Record<string, unknown>>;
  /** `newline` (any token whose text has a line break; default) or explicit signal token ids. */
  readonly signal?: 'newline' | { readonly tokenIds: readonly number[] };
  /** Insert at every n-th signal token (default 2, as the official code). */
  readonly every?: number;
}

/**
 * One whole ICoT run, as plain data (structured-clone serialisable; JSON too when images are
 * paths): what to load, what to ask, and the strategies by name. Defaults are the paper's.
 */
export interface RunDescription {
  readonly model: ModelDescription;
  /**
   * Images: with a `question` prompt the query image first, then images for one-shot
   * demonstrations (numbered 2, 3 ... in the region syntax); with `messages` or `text`, the order
   * in which the prompt's whole-image parts take them. ICoT selects from the last whole image.
   */
  readonly images: readonly ImageSource[];
  /** Refuse images whose header declares more pixels than this (default Pillow's `MAX_IMAGE_PIXELS`). */
  readonly maxImagePixels?: number;
  /**
   * Transparent images: `composite` over white (default; what qwen-vl-utils does for RGBA and the
   * Idefics/SmolVLM processors do) or `drop` the alpha channel (what transformers' `load_image` and
   * the Qwen2-VL / CLIP processors' `convert('RGB')` do).
   */
  readonly imageAlpha?: 'composite' | 'drop';
  readonly prompt: PromptDescription;
  /** Default `{ name: 'ads' }`. */
  readonly selector?: SelectorDescription;
  /** Default `{ name: 'input' }`. */
  readonly decoder?: DecoderDescription;
  /** Default: newline signal, every 2nd. */
  readonly trigger?: TriggerDescription;
  /** Patches per insertion (default: the family's, 16 for Qwen2-VL). */
  readonly k?: number;
  /** Most insertions per answer (default 3; 0 = plain decoding). */
  readonly maxInsertions?: number;
  /** Insert right after the prompt, before any text (default: the family's official behaviour, on for Chameleon). */
  readonly insertAfterPrompt?: boolean;
  /** Never select a patch twice in one answer (default: the family's official behaviour). */
  readonly excludeSelected?: boolean;
  /** Most generated tokens (default 128). */
  readonly maxNewTokens?: number;
  /** Greedy unless `temperature` > 0; sampling is seeded by `seed` (default 0). */
  readonly sampling?: SamplingOptions;
  /**
   * Hash the model's files and the images into the outcome's `record` (what reproduces the run;
   * hashes are cached by path, size and time, so only a first run of a model pays for them).
   */
  readonly record?: boolean;
}

/** Size and patch grid of an encoded image. */
export interface EncodedImageInfo {
  readonly width: number;
  readonly height: number;
  /** Its patch grid (a tiled image: the grid its tiles form side by side). */
  readonly rows: number;
  readonly cols: number;
  /** Number of tiles (1 for a single-grid image). */
  readonly tiles: number;
  /** Number of patches (image tokens), over all tiles. */
  readonly patches: number;
}

/** The loaded model, as reported to the caller. */
export interface LoadedModelInfo {
  readonly modelId: string;
  /** Model family (`qwen2-vl`, `llava`, `chameleon` ...). */
  readonly family: string;
  /** Backend provider that runs it. */
  readonly provider: string;
}

/** Events of a run before generation starts: loading (with download progress) and image encoding. */
export type RunnerEvent =
  | { readonly type: 'model-loading'; readonly source: string; readonly backend: (typeof BACKENDS)[number] }
  /** Hub download progress (`@icot/hub`'s report: file, bytes, total, rate, ETA, done ...), at most every 100 ms per file plus each file's last. */
  | ({ readonly type: 'download' } & DownloadProgress)
  | ({ readonly type: 'model-loaded'; /** Whether a model loaded by an earlier run was reused. */ readonly reused: boolean } & LoadedModelInfo)
  | { readonly type: 'images-encoded'; readonly images: readonly EncodedImageInfo[] };

/**
 * Everything a run reports, in order: `model-loading`, `download`s, `model-loaded`,
 * `images-encoded`, then the events of `streamICoT` (`start` - the prefill begins right after it -,
 * `token`, `text-delta`, `insertion`, `finish`). All plain JSON data.
 */
export type RunEvent = RunnerEvent | ICoTEvent;

/** What a finished run returns. */
export interface RunOutcome {
  readonly result: ICoTResult;
  readonly model: LoadedModelInfo;
  /** The encoded images, in the description's order. */
  readonly images: readonly EncodedImageInfo[];
  /** Text of each generated token on its own, in order (to split the answer at insertion points). */
  readonly tokenTexts: readonly string[];
  /** With `record: true`: the sha256 of the model's files and of each image. */
  readonly record?: RunRecord;
}

/** The files a run read, hashed (see {@link RunDescription.record}). */
export interface RunRecord {
  /** The model's local folder (a hub snapshot for hub ids), or null when it has none (then `files` is empty). */
  readonly modelFolder: string | null;
  /** Every file the model is assembled from, relative to `modelFolder`. */
  readonly modelFiles: readonly FileHash[];
  /** The images in the description's order (`path` as given, or the bytes' name). */
  readonly images: readonly FileHash[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function oneOf(what: string, value: unknown, allowed: readonly string[]): void {
  if (!allowed.includes(value as string))
    throw new OptionError(`${what} '${String(value)}' is not supported.`, { hint: `Use one of: ${allowed.join(', ')}.` });
}

/** The fix for signal token ids that cannot work. */
const SIGNAL_IDS_HINT = "Pass ids of the model's tokenizer (e.g. the ids of its line-break tokens), or use the newline signal (--signal newline; trigger.signal 'newline'), which finds every token with a line break itself.";

/** A signal token id list must hold at least one id, each an integer >= 0 (checked against the model's vocabulary once it is loaded). */
function checkSignalTokenIdList(ids: readonly unknown[]): void {
  if (ids.length === 0) throw new OptionError('The signal token id list is empty: no token would ever trigger an insertion.', { hint: SIGNAL_IDS_HINT });
  const bad = ids.filter((id) => !(typeof id === 'number' && Number.isInteger(id) && id >= 0));
  if (bad.length) throw new OptionError(`Signal token ids must be integers >= 0, got ${bad.map((id) => JSON.stringify(id)).join(', ')}.`, { hint: SIGNAL_IDS_HINT });
}

/**
 * Check that signal token ids name tokens the model can generate: each below `vocabSize`, the
 * size of its vocabulary (its logits). Throws {@link OptionError} naming the ids, the vocabulary
 * size and the fix; an id outside the vocabulary would never be generated, so it would never
 * trigger an insertion.
 */
export function checkSignalTokenIds(tokenIds: readonly number[], vocabSize: number): void {
  checkSignalTokenIdList(tokenIds);
  const outside = tokenIds.filter((id) => id >= vocabSize);
  if (outside.length)
    throw new OptionError(
      `Signal token id${outside.length > 1 ? 's' : ''} ${outside.join(', ')} ${outside.length > 1 ? 'are' : 'is'} outside the model's vocabulary of ${vocabSize} tokens (ids 0-${vocabSize - 1}): ${outside.length > 1 ? 'they' : 'it'} would never be generated, so no insertion would happen.`,
      { hint: SIGNAL_IDS_HINT },
    );
}

/** Chat messages: a role and a text content, or a list of `{ type: 'text', text }` and `{ type: 'image' }` parts. */
function checkMessages(messages: readonly unknown[]): void {
  const hint = "Write each message as { role: 'system' | 'user' | 'assistant', content: string | [{ type: 'image' }, { type: 'text', text }] }.";
  if (messages.length === 0) throw new OptionError('The prompt has no chat messages.', { hint });
  messages.forEach((message, i) => {
    const ok =
      isObject(message) &&
      ['system', 'user', 'assistant'].includes(message['role'] as string) &&
      (typeof message['content'] === 'string' ||
        (Array.isArray(message['content']) &&
          message['content'].every((part: unknown) => isObject(part) && (part['type'] === 'image' || (part['type'] === 'text' && typeof part['text'] === 'string')))));
    if (!ok) throw new OptionError(`Chat message ${i + 1} of the prompt is not a message.`, { hint });
  });
}

function checkOptionsObject(what: string, options: unknown): void {
  if (options !== undefined && (!isObject(options) || Array.isArray(options)))
    throw new OptionError(`${what} must be an object, got ${Array.isArray(options) ? 'an array' : JSON.stringify(options)}.`, { hint: 'Pass an object of option names and values, e.g. { "delta": 0.2 }.' });
}

/**
 * Check the shape of a run description (names, required fields, image sources); numbers are
 * checked where they are used. Throws {@link OptionError} naming the problem. Cheap: callers check
 * before starting a child process, and the child checks again.
 */
export function checkRunDescription(description: unknown): asserts description is RunDescription {
  if (!isObject(description)) throw new OptionError('The run description must be an object.', { hint: 'Pass { model, images, prompt, ... }.' });
  const { model, images, prompt, selector, decoder, trigger } = description;
  if (!isObject(model) || typeof model['source'] !== 'string' || model['source'] === '')
    throw new OptionError('The run description has no model source.', { hint: 'Set model.source to a model folder or hub id.' });
  if (model['backend'] !== undefined) oneOf('Backend', model['backend'], BACKENDS);
  if (!Array.isArray(images) || images.length === 0)
    throw new OptionError('The run description has no image.', { hint: 'Pass at least the query image, as { path } or { bytes }.' });
  images.forEach((image: unknown, i) => {
    const ok = isObject(image) && (typeof image['path'] === 'string' || image['bytes'] instanceof Uint8Array);
    if (!ok) throw new OptionError(`Image ${i + 1} of the run description is neither { path } nor { bytes }.`, { hint: 'Pass a file path or the file bytes as a Uint8Array.' });
  });
  if (description['imageAlpha'] !== undefined) oneOf('Image alpha handling', description['imageAlpha'], ['composite', 'drop']);
  const forms = isObject(prompt) ? [typeof prompt['question'] === 'string', Array.isArray(prompt['messages']), typeof prompt['text'] === 'string'].filter(Boolean).length : 0;
  if (forms !== 1)
    throw new OptionError('The run description needs exactly one prompt: a question, chat messages or a formatted text.', {
      hint: 'Pass prompt: { question }, prompt: { messages } or prompt: { text } (an already formatted prompt).',
    });
  if ('messages' in (prompt as object)) checkMessages((prompt as { messages: unknown[] }).messages);
  if (selector !== undefined) {
    oneOf('Selector', isObject(selector) ? selector['name'] : selector, SELECTORS);
    checkOptionsObject(`The ${String((selector as Record<string, unknown>)['name'])} selector's options`, (selector as Record<string, unknown>)['options']);
  }
  if (decoder !== undefined) {
    oneOf('Decoder', isObject(decoder) ? decoder['name'] : decoder, DECODERS);
    const layout = (decoder as Record<string, unknown>)['layout'];
    if (layout !== undefined) oneOf('Patch layout', layout, ['grid', 'source']);
  }
  if (trigger !== undefined) {
    const name = isObject(trigger) ? (trigger['name'] ?? 'signal') : 'signal';
    oneOf('Trigger', name, TRIGGERS);
    const options = isObject(trigger) ? trigger['options'] : undefined;
    checkOptionsObject(`The ${String(name)} trigger's options`, options);
    if (name === 'signal' && options !== undefined)
      throw new OptionError("The signal trigger takes no options object: its settings are trigger.signal and trigger.every.", { hint: 'Move them to trigger.signal / trigger.every.' });
    if (name !== 'signal' && isObject(trigger) && (trigger['signal'] !== undefined || trigger['every'] !== undefined))
      throw new OptionError(`trigger.signal and trigger.every belong to the signal trigger, not ${String(name)}.`, { hint: `Put the ${String(name)} trigger's settings in trigger.options.` });
    const signal = isObject(trigger) ? trigger['signal'] : trigger;
    if (signal !== undefined && signal !== 'newline' && !(isObject(signal) && Array.isArray(signal['tokenIds'])))
      throw new OptionError(`Signal '${JSON.stringify(signal)}' is not supported.`, { hint: "Use 'newline' or { tokenIds: [...] }." });
    if (isObject(signal)) checkSignalTokenIdList(signal['tokenIds'] as readonly unknown[]);
    if (isObject(trigger) && trigger['afterPrompt'] !== undefined)
      throw new OptionError('trigger.afterPrompt is not a trigger setting: an insertion right after the prompt is the run\'s insertAfterPrompt.', {
        hint: 'Set insertAfterPrompt at the top level of the run description (default: the model family\'s official behaviour).',
      });
  }
}
