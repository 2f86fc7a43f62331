import {
  AttentionUnavailableError,
  IcotError,
  OptionError,
  PromptError,
  SelectionError,
  throwIfAborted,
} from './errors.js';
import { createRandom } from './random.js';
import { TokenSampler, type SamplingOptions } from './sampling.js';
import type { InsertionDecoderV1 } from './spec/decoder.js';
import type { Box, PreparedPrompt, PromptInput, VisionLanguageModelV1 } from './spec/model.js';
import type { PatchSelectorV1 } from './spec/selector.js';
import type { TriggerV1 } from './spec/trigger.js';
import { TextStreamer } from './text-stream.js';
import { slicePositions } from './positions.js';

/** Options of {@link streamICoT} and {@link generateICoT}. */
export interface ICoTOptions {
  readonly model: VisionLanguageModelV1;
  /** A prompt to prepare, or one already prepared with `model.preparePrompt`. */
  readonly prompt: PromptInput | PreparedPrompt;
  readonly selector: PatchSelectorV1;
  readonly decoder: InsertionDecoderV1;
  readonly trigger: TriggerV1;
  /** Patches per insertion (default: the family's, 16 for Qwen2-VL). */
  readonly k?: number;
  /** Most insertions per answer (default 3; 0 = plain decoding). */
  readonly maxInsertions?: number;
  /** Never select a patch twice in one answer (default: the family's official behaviour). */
  readonly excludeSelected?: boolean;
  /** Most generated tokens (default 128). */
  readonly maxNewTokens?: number;
  readonly sampling?: SamplingOptions;
  /** Index of the query image among the prompt's images (default: the last whole image). */
  readonly queryImage?: number;
  readonly signal?: AbortSignal;
}

/** One insertion of selected patches. */
export interface InsertionRecord {
  /** Generation step of the signal token; -1 for the insertion right after the prompt. */
  readonly step: number;
  /** The signal token (null after the prompt). */
  readonly token: number | null;
  /** Selected patch indices of the query image, ascending (raster order of image tokens). */
  readonly selected: readonly number[];
  /** Pixel rectangles of the selected patches in the original image. */
  readonly boxes: readonly Box[];
  /** Attention score of each selected patch (empty when the selector used none). */
  readonly scores: readonly number[];
  /** Text of the reasoning step that led to this insertion. */
  readonly stepText: string;
  /** Position id where the block starts. */
  readonly position: number;
  /** Cache positions the block added. */
  readonly insertedTokens: number;
  /** Time for selection and insertion, ms. */
  readonly ms: number;
}

/** Wall-clock timings of a run, in milliseconds. */
export interface ICoTTimings {
  /** Tokenization, image encoding and position computation. */
  readonly prepareMs: number;
  /** The prompt's forward pass. */
  readonly prefillMs: number;
  /** All single-token decode steps. */
  readonly decodeMs: number;
  /** Number of single-token decode steps. */
  readonly decodeSteps: number;
  /** `decodeMs / decodeSteps`. */
  readonly perTokenMs: number;
  /** Selection and insertion, all insertions together. */
  readonly insertionMs: number;
  readonly totalMs: number;
}

/** Final result of a run. */
export interface ICoTResult {
  /** Generated token ids (including a final end-of-sequence token, if one was generated). */
  readonly tokens: readonly number[];
  /** Decoded text of the generated tokens (without a final end-of-sequence token). */
  readonly text: string;
  readonly insertions: readonly InsertionRecord[];
  readonly finishReason: 'eos' | 'length';
  readonly usage: { readonly promptTokens: number; readonly generatedTokens: number; readonly insertedTokens: number };
  readonly timings: ICoTTimings;
}

/** Events of a run, in order: `start`, then `text-delta` and `insertion`, then `finish`. */
export type ICoTEvent =
  | { readonly type: 'start'; readonly promptTokens: number; readonly queryImage: { readonly rows: number; readonly cols: number } }
  | { readonly type: 'token'; readonly step: number; readonly token: number }
  | { readonly type: 'text-delta'; readonly step: number; readonly text: string }
  | { readonly type: 'insertion'; readonly insertion: InsertionRecord }
  | { readonly type: 'finish'; readonly result: ICoTResult };

function isPrepared(prompt: PromptInput | PreparedPrompt): prompt is PreparedPrompt {
  return 'segments' in prompt && 'positions' in prompt;
}

/**
 * Interleaved-Modal Chain-of-Thought generation as a stream of events. Each time the trigger
 * fires, the attention row of the token just fed (no extra forward pass) goes to the selector, and
 * the decoder feeds the chosen patches back in before the next text token.
 *
 * The generator's return value is the same {@link ICoTResult} as the `finish` event carries.
 */
export async function* streamICoT(options: ICoTOptions): AsyncGenerator<ICoTEvent, ICoTResult> {
  const { model, selector, decoder, signal } = options;
  const family = model.family;
  const k = options.k ?? family.defaults.k;
  const maxInsertions = options.maxInsertions ?? 3;
  const excludeSelected = options.excludeSelected ?? family.defaults.excludeSelected;
  const maxNewTokens = options.maxNewTokens ?? 128;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1)
    throw new OptionError(`maxNewTokens must be an integer >= 1, got ${maxNewTokens}.`, { hint: 'Use e.g. 128.' });
  if (!Number.isInteger(maxInsertions) || maxInsertions < 0)
    throw new OptionError(`maxInsertions must be an integer >= 0, got ${maxInsertions}.`, { hint: 'Use 0 for plain decoding, e.g. 3 otherwise.' });
  if (!Number.isInteger(k) || k < 1) throw new OptionError(`k must be an integer >= 1, got ${k}.`, { hint: 'Use e.g. 16.' });
  const insertionsOn = maxInsertions > 0;
  if (insertionsOn && selector.requiresAttention && !model.capabilities.attention)
    throw new AttentionUnavailableError(
      `Selector '${selector.name}' needs the decoder's attention, but model '${model.modelId}' cannot provide it: ${model.capabilities.attentionUnavailableReason ?? 'no reason given'}`,
      { hint: 'Use a model whose decoder graph has a supported attention shape, or a selector that needs no attention (e.g. random), or switch insertions off.' },
    );
  throwIfAborted(signal);

  const started = performance.now();
  const prompt = isPrepared(options.prompt) ? options.prompt : await model.preparePrompt(options.prompt);
  const prepareMs = performance.now() - started;
  const queryIndex = options.queryImage ?? prompt.images.map((image) => !image.region).lastIndexOf(true);
  const query = prompt.images[queryIndex];
  if (!query) {
    if (prompt.images.every((image) => image.region))
      throw new PromptError('The prompt has no image; ICoT selects patches from the query image.', {
        hint: `Put one image placeholder (${family.imagePlaceholder}) in the prompt and pass the image.`,
      });
    throw new OptionError(`queryImage ${queryIndex} is out of range: the prompt has ${prompt.images.length} image(s).`);
  }
  if (insertionsOn && k > query.image.patchCount)
    throw new SelectionError(
      `k = ${k} is larger than the query image's ${query.image.patchCount} patches (${query.image.grid.rows}x${query.image.grid.cols}).`,
      { hint: `Use k <= ${query.image.patchCount}, or a larger image.` },
    );

  const imagePositions = slicePositions(prompt.positions, query.start, query.start + query.image.patchCount);
  const random = createRandom(options.sampling?.seed ?? 0);
  const sampler = new TokenSampler(model.vocabSize, options.sampling, family.suppressedTokenIds);
  sampler.observe(prompt.textTokenIds);
  const eos = new Set(model.eosTokenIds);
  const streamer = new TextStreamer(model.tokenizer);
  const triggerRun = options.trigger.start();
  const wantAttention = insertionsOn && selector.requiresAttention;
  const exclude = new Set<number>();
  const insertions: InsertionRecord[] = [];
  const tokens: number[] = [];
  let insertedTokens = 0;
  let insertionMs = 0;
  let decodeMs = 0;
  let decodeSteps = 0;
  let stepStart = 0;

  yield { type: 'start', promptTokens: prompt.length, queryImage: { rows: query.image.grid.rows, cols: query.image.grid.cols } };

  const session = model.createSession();
  try {
    const afterPrompt = insertionsOn && triggerRun.afterPrompt();
    const prefillStart = performance.now();
    let out = await session.step({ segments: prompt.segments, positions: prompt.positions, attention: afterPrompt && wantAttention, signal });
    const prefillMs = performance.now() - prefillStart;
    let logits = out.logits;
    let position = prompt.nextPosition;

    const insert = async (step: number, token: number | null, attention: Float32Array | undefined): Promise<InsertionRecord | undefined> => {
      const t0 = performance.now();
      const image = query.image;
      let scores: Float32Array | undefined;
      if (wantAttention) {
        if (!attention) throw new IcotError('internal', `Backend '${model.provider}' returned no attention row although it was asked for one.`);
        scores = attention.subarray(query.start, query.start + image.patchCount);
      }
      const stepText = model.tokenizer.decode(tokens.slice(stepStart));
      const selection = await selector.select({ scores, image, k, exclude, step, stepText, random, signal });
      const selected = checkSelection(selection.indices, image.patchCount, k, selector.name);
      if (selected.length === 0) return undefined;
      const result = await decoder.insert({ model, session, image, imageStart: query.start, imagePositions, patches: selected, position, logits, signal });
      logits = result.logits;
      const record: InsertionRecord = {
        step,
        token,
        selected,
        boxes: selected.map((i) => image.patchBox(i)),
        scores: scores ? selected.map((i) => scores[i]!) : [],
        stepText,
        position,
        insertedTokens: result.insertedTokens,
        ms: performance.now() - t0,
      };
      position = result.nextPosition;
      insertedTokens += result.insertedTokens;
      insertionMs += record.ms;
      if (excludeSelected) for (const i of selected) exclude.add(i);
      insertions.push(record);
      stepStart = tokens.length;
      return record;
    };

    if (afterPrompt) {
      const record = await insert(-1, null, out.attention);
      if (record) yield { type: 'insertion', insertion: record };
    }

    let finishReason: ICoTResult['finishReason'] = 'length';
    for (let step = 0; step < maxNewTokens; step++) {
      throwIfAborted(signal);
      const token = sampler.sample(logits, random);
      tokens.push(token);
      sampler.observe([token]);
      yield { type: 'token', step, token };
      if (eos.has(token)) {
        finishReason = 'eos';
        break;
      }
      const delta = streamer.push(token);
      if (delta) yield { type: 'text-delta', step, text: delta };
      if (step === maxNewTokens - 1) break; // the last token needs no forward pass
      const fired = triggerRun.onToken({ step, token, tokenText: model.tokenizer.decode([token]), insertions: insertions.length });
      const fire = insertionsOn && fired && insertions.length < maxInsertions;
      const t0 = performance.now();
      out = await session.step({
        segments: [{ type: 'tokens', ids: [token] }],
        positions: family.textPositions(position, 1),
        attention: fire && wantAttention,
        signal,
      });
      decodeMs += performance.now() - t0;
      decodeSteps += 1;
      position += 1;
      logits = out.logits;
      if (fire) {
        const record = await insert(step, token, out.attention);
        if (record) yield { type: 'insertion', insertion: record };
      }
    }
    const rest = streamer.flush();
    if (rest) yield { type: 'text-delta', step: tokens.length - 1, text: rest };

    const textTokens = finishReason === 'eos' ? tokens.slice(0, -1) : tokens;
    const result: ICoTResult = {
      tokens,
      text: model.tokenizer.decode(textTokens),
      insertions,
      finishReason,
      usage: { promptTokens: prompt.length, generatedTokens: tokens.length, insertedTokens },
      timings: {
        prepareMs,
        prefillMs,
        decodeMs,
        decodeSteps,
        perTokenMs: decodeSteps ? decodeMs / decodeSteps : 0,
        insertionMs,
        totalMs: performance.now() - started,
      },
    };
    yield { type: 'finish', result };
    return result;
  } finally {
    session.dispose();
  }
}

/**
 * Run {@link streamICoT} to the end; `onEvent` sees every event on the way. If `onEvent` throws,
 * the run stops (its decoding session is released) and the call rejects with that error.
 */
export async function generateICoT(options: ICoTOptions & { readonly onEvent?: (event: ICoTEvent) => void }): Promise<ICoTResult> {
  let result: ICoTResult | undefined;
  // for-await calls the generator's return() when the body throws, which runs its `finally`
  for await (const event of streamICoT(options)) {
    if (event.type === 'finish') result = event.result;
    options.onEvent?.(event);
  }
  if (!result) throw new IcotError('internal', 'The ICoT stream ended without a finish event.');
  return result;
}

function checkSelection(indices: readonly number[], patchCount: number, k: number, selectorName: string): number[] {
  const out = Array.from(indices);
  if (out.length > k)
    throw new SelectionError(`Selector '${selectorName}' returned ${out.length} patches, more than k = ${k}.`);
  for (let i = 0; i < out.length; i++) {
    const v = out[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= patchCount)
      throw new SelectionError(`Selector '${selectorName}' returned patch ${v}, outside 0..${patchCount - 1}.`);
    if (i > 0 && v <= out[i - 1]!)
      throw new SelectionError(`Selector '${selectorName}' must return distinct patch indices in ascending order.`);
  }
  return out;
}
