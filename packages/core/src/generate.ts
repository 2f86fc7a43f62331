import {
  AttentionUnavailableError,
  CapabilityError,
  IcotError,
  OptionError,
  PromptError,
  SelectionError,
  throwIfAborted,
} from './errors.js';
import { resolveLayerSelection } from './layers.js';
import { gatherByCacheIndex, gatherPositions, imageLayout, imageTiles, massAt, patchCell, type ImageLayout } from './patches.js';
import { createRandom } from './random.js';
import { TokenSampler, type SamplingOptions } from './sampling.js';
import type { InsertionDecoderV2 } from './spec/decoder.js';
import type { Box, CapabilityName, DecodingSessionV2, PatchCell, PreparedPrompt, PromptImage, PromptInput, VisionLanguageModelV2 } from './spec/model.js';
import type { GroundedBox, PatchSelectorV2, SelectionFallback, SideRunContext } from './spec/selector.js';
import type { StepSignals, TriggerV2 } from './spec/trigger.js';
import { TextStreamer } from './text-stream.js';

/** Options of {@link streamICoT} and {@link generateICoT}. */
export interface ICoTOptions {
  readonly model: VisionLanguageModelV2;
  /** A prompt to prepare, or one already prepared with `model.preparePrompt`. */
  readonly prompt: PromptInput | PreparedPrompt;
  readonly selector: PatchSelectorV2;
  readonly decoder: InsertionDecoderV2;
  readonly trigger: TriggerV2;
  /** Patches per insertion (default: the family's, 16 for Qwen2-VL, 64 for Chameleon). */
  readonly k?: number;
  /** Most insertions per answer (default 3; 0 = plain decoding). */
  readonly maxInsertions?: number;
  /** Insert right after the prompt, before any text (default: the family's official behaviour: on for Chameleon). */
  readonly insertAfterPrompt?: boolean;
  /** Never select a patch twice in one answer (default: the family's official behaviour: on for Chameleon). */
  readonly excludeSelected?: boolean;
  /** Most generated tokens (default 128). */
  readonly maxNewTokens?: number;
  readonly sampling?: SamplingOptions;
  /** Index of the query image among the prompt's images (default: the last whole image). */
  readonly queryImage?: number;
  readonly signal?: AbortSignal;
}

/** The settings a run used: the options given, and the family's defaults for those left out. */
export interface ICoTSettings {
  readonly k: number;
  readonly maxInsertions: number;
  readonly insertAfterPrompt: boolean;
  readonly excludeSelected: boolean;
  readonly maxNewTokens: number;
  /**
   * The model's context length ({@link VisionLanguageModelV2.maxContextTokens}): prompt, generated
   * and inserted tokens together never pass it. Undefined when the model states none.
   */
  readonly maxContextTokens: number | undefined;
}

/** One insertion of selected patches. */
export interface InsertionRecord {
  /** Generation step of the signal token; -1 for the insertion right after the prompt. */
  readonly step: number;
  /** The signal token (null after the prompt). */
  readonly token: number | null;
  /** Selected patch indices of the query image, ascending. */
  readonly selected: readonly number[];
  /** Tile, row and column of each selected patch (tile 0 on a single-grid image). */
  readonly cells: readonly PatchCell[];
  /** Pixel rectangles of the selected patches in the original image. */
  readonly boxes: readonly Box[];
  /** Attention score of each selected patch (empty when the selector used none): `attention[selected[i]]`. */
  readonly scores: readonly number[];
  /**
   * The query image's whole attention row: the score of every patch, in patch order (length
   * `patchCount`), as the selector received it; null when the selector used no attention (e.g.
   * random). Draw it over the image with {@link ICoTResult.queryImage}'s patch boxes.
   */
  readonly attention: readonly number[] | null;
  /** Text of the reasoning step that led to this insertion. */
  readonly stepText: string;
  /** Name of the selector the run asked for. */
  readonly selector: string;
  /** Set when another strategy chose instead of {@link InsertionRecord.selector}, and why. */
  readonly fallback?: SelectionFallback;
  /** The variant of the strategy that ran, when the selector names one. */
  readonly variant?: string;
  /** Regions chosen whole (segmentation selectors), each as its patch indices. */
  readonly regions?: readonly (readonly number[])[];
  /** Boxes a grounding selector located, in original-image pixels. */
  readonly groundedBoxes?: readonly GroundedBox[];
  /** Position id where the block starts. */
  readonly position: number;
  /** Cache positions the block added. */
  readonly insertedTokens: number;
  /** Time for selection and insertion, ms. */
  readonly ms: number;
}

/** The query image of a run: where it is among the prompt's images, and where its patches are in it. */
export interface QueryImageLayout extends ImageLayout {
  /** Index of the query image among the prompt's images. */
  readonly index: number;
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
  /** The query image's size, tiles and every patch's box (the layout of each insertion's `attention` row). */
  readonly queryImage: QueryImageLayout;
  /**
   * Why the run ended: `eos` (an end-of-sequence token), `length` (`maxNewTokens` tokens), or
   * `context-limit` (the model's context, `settings.maxContextTokens`, has no room for the next
   * token, or for the next insertion and a token after it).
   */
  readonly finishReason: 'eos' | 'length' | 'context-limit';
  readonly settings: ICoTSettings;
  readonly usage: { readonly promptTokens: number; readonly generatedTokens: number; readonly insertedTokens: number };
  readonly timings: ICoTTimings;
}

/** Events of a run, in order: `start`, then `text-delta` and `insertion`, then `finish`. */
export type ICoTEvent =
  | {
      readonly type: 'start';
      readonly promptTokens: number;
      /** The query image's grid (for a tiled image, the grid of its local tiles) and its number of tiles. */
      readonly queryImage: { readonly rows: number; readonly cols: number; readonly tiles: number; readonly patches: number };
      readonly settings: ICoTSettings;
    }
  | { readonly type: 'token'; readonly step: number; readonly token: number }
  | { readonly type: 'text-delta'; readonly step: number; readonly text: string }
  | { readonly type: 'insertion'; readonly insertion: InsertionRecord }
  | { readonly type: 'finish'; readonly result: ICoTResult };

function isPrepared(prompt: PromptInput | PreparedPrompt): prompt is PreparedPrompt {
  return 'segments' in prompt && 'positions' in prompt;
}

/** A missing capability: attention keeps its own error type, the others are {@link CapabilityError}s. */
function missing(capability: CapabilityName, model: VisionLanguageModelV2, who: string, hint: string): IcotError {
  if (capability === 'attention')
    return new AttentionUnavailableError(
      `${who} needs the decoder's attention, but model '${model.modelId}' cannot provide it: ${model.capabilities.attentionUnavailableReason ?? 'no reason given'}`,
      { hint },
    );
  return new CapabilityError(capability, `${who} needs the '${capability}' capability, which model '${model.modelId}' (${model.provider} backend) does not have.`, { hint });
}

/**
 * Check that the model has every capability the strategies declare they need (before anything
 * runs), and resolve the trigger's signal layers. Throws a typed error naming the missing one.
 */
function checkCapabilities(options: ICoTOptions, query: PromptImage): { readonly signalLayers: readonly number[] | undefined } {
  const { model, selector, decoder, trigger } = options;
  const caps = model.capabilities;
  const needs = selector.requires;
  const selectorHint = 'Use a model (or backend) that has it, another selector, or switch insertions off (maxInsertions: 0).';
  if (needs.attention && !caps.attention)
    throw missing('attention', model, `Selector '${selector.name}'`, 'Use a model whose decoder graph has a supported attention shape, or a selector that needs no attention (e.g. random), or switch insertions off.');
  if (needs.pixels) {
    if (!caps.pixels) throw missing('pixels', model, `Selector '${selector.name}'`, selectorHint);
    if (!query.image.pixels)
      throw new CapabilityError('pixels', `Selector '${selector.name}' needs the query image's pixels, but the image carries none.`, {
        hint: "Encode the image with this model's encodeImage().",
      });
  }
  if (needs.fork && !caps.fork) throw missing('fork', model, `Selector '${selector.name}'`, selectorHint);
  if (needs.batchedSideRuns && !caps.batchedSideRuns) throw missing('batchedSideRuns', model, `Selector '${selector.name}'`, selectorHint);
  if (decoder.requires.kvCache && !caps.kvCache)
    throw missing('kvCache', model, `Decoder '${decoder.name}'`, 'Use the input decoder, or a backend whose capabilities include kvCache.');
  const wanted = trigger.signals?.imageAttention;
  if (!wanted) return { signalLayers: undefined };
  if (!caps.attention) throw missing('attention', model, `Trigger '${trigger.name}'`, 'Use a model whose attention can be read, or a trigger that needs no attention signal.');
  if (!caps.layerAttention) throw missing('layerAttention', model, `Trigger '${trigger.name}'`, 'Use a backend that reports attention per layer, or a trigger that needs no attention signal.');
  const layers = resolveLayerSelection(wanted.layers, caps.decoderLayers);
  const readable = new Set(caps.attentionLayers);
  const unread = layers.filter((layer) => !readable.has(layer));
  if (unread.length)
    throw new CapabilityError('layerAttention', `Trigger '${trigger.name}' needs the attention of layer(s) ${unread.join(', ')}, but model '${model.modelId}' reads attention from layers ${caps.attentionLayers.join(', ')} only.`, {
      hint: "Load the model with attention layers that include the trigger's (e.g. attentionLayers: 'all').",
    });
  return { signalLayers: layers };
}

/**
 * Interleaved-Modal Chain-of-Thought generation as a stream of events. Each time the trigger
 * fires, the attention row of the token just fed (no extra forward pass) goes to the selector, and
 * the decoder feeds the chosen patches back in before the next text token. The family's official
 * behaviours (k, an insertion right after the prompt, exclusion of earlier picks) apply unless the
 * options override them.
 *
 * A model that states its context length ({@link VisionLanguageModelV2.maxContextTokens}) bounds
 * the run: prompt, generated and inserted tokens together never pass it. A prompt that fills it
 * is refused with a {@link PromptError}; the run ends with finish reason `context-limit` when the
 * next token would not fit, or when an insertion the trigger asked for would leave no room for a
 * token after it (the answer stops there rather than go on without its insertion).
 *
 * The generator's return value is the same {@link ICoTResult} as the `finish` event carries.
 */
export async function* streamICoT(options: ICoTOptions): AsyncGenerator<ICoTEvent, ICoTResult> {
  const { model, selector, decoder, signal } = options;
  const family = model.family;
  const settings: ICoTSettings = {
    k: options.k ?? family.defaults.k,
    maxInsertions: options.maxInsertions ?? 3,
    insertAfterPrompt: options.insertAfterPrompt ?? family.defaults.insertAfterPrompt,
    excludeSelected: options.excludeSelected ?? family.defaults.excludeSelected,
    maxNewTokens: options.maxNewTokens ?? 128,
    maxContextTokens: model.maxContextTokens,
  };
  const { k, maxInsertions, maxNewTokens } = settings;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1)
    throw new OptionError(`maxNewTokens must be an integer >= 1, got ${maxNewTokens}.`, { hint: 'Use e.g. 128.' });
  if (!Number.isInteger(maxInsertions) || maxInsertions < 0)
    throw new OptionError(`maxInsertions must be an integer >= 0, got ${maxInsertions}.`, { hint: 'Use 0 for plain decoding, e.g. 3 otherwise.' });
  if (!Number.isInteger(k) || k < 1) throw new OptionError(`k must be an integer >= 1, got ${k}.`, { hint: 'Use e.g. 16.' });
  const contextLimit = settings.maxContextTokens;
  if (contextLimit !== undefined && !(Number.isInteger(contextLimit) && contextLimit >= 1))
    throw new IcotError('internal', `Model '${model.modelId}' (${model.provider} backend) states a context of ${contextLimit} tokens; it must be an integer >= 1, or undefined.`);
  const insertionsOn = maxInsertions > 0;
  if (insertionsOn && selector.requires.attention && !model.capabilities.attention)
    throw missing('attention', model, `Selector '${selector.name}'`, 'Use a model whose decoder graph has a supported attention shape, or a selector that needs no attention (e.g. random), or switch insertions off.');
  throwIfAborted(signal);

  const started = performance.now();
  const prompt = isPrepared(options.prompt) ? options.prompt : await model.preparePrompt(options.prompt);
  const prepareMs = performance.now() - started;
  if (contextLimit !== undefined && prompt.length >= contextLimit)
    throw new PromptError(
      `The prompt is ${prompt.length} tokens (text and image tokens), which leaves no room for an answer in model '${model.modelId}''s context of ${contextLimit} tokens.`,
      { hint: 'Shorten the prompt, or pass a smaller image (fewer image tokens).' },
    );
  const queryIndex = options.queryImage ?? prompt.images.map((image) => !image.region).lastIndexOf(true);
  const query = prompt.images[queryIndex];
  if (!query) {
    if (prompt.images.every((image) => image.region))
      throw new PromptError('The prompt has no image; ICoT selects patches from the query image.', {
        hint: `Put one image placeholder (${family.imagePlaceholder}) in the prompt and pass the image.`,
      });
    throw new OptionError(`queryImage ${queryIndex} is out of range: the prompt has ${prompt.images.length} image(s).`);
  }
  const image = query.image;
  if (query.cacheIndices.length !== image.patchCount)
    throw new IcotError('internal', `The query image's patch map has ${query.cacheIndices.length} entries for ${image.patchCount} patches (family '${family.name}').`);
  if (insertionsOn && k > image.patchCount)
    throw new SelectionError(`k = ${k} is larger than the query image's ${image.patchCount} patches (${image.grid.rows}x${image.grid.cols}${image.tiles ? `, ${image.tiles.length} tiles` : ''}).`, {
      hint: `Use k <= ${image.patchCount}, or a larger image.`,
    });
  const { signalLayers } = insertionsOn ? checkCapabilities(options, query) : { signalLayers: undefined };
  const wantGap = insertionsOn && options.trigger.signals?.probabilityGap === true;

  const imagePositions = gatherPositions(prompt.positions, query.cacheIndices);
  const random = createRandom(options.sampling?.seed ?? 0);
  const sampler = new TokenSampler(model.vocabSize, options.sampling, family.suppressedTokenIds);
  sampler.observe(prompt.textTokenIds);
  const eos = new Set(model.eosTokenIds);
  const streamer = new TextStreamer(model.tokenizer);
  const triggerRun = options.trigger.start();
  const wantAttention = insertionsOn && selector.requires.attention;
  const wantSideRuns = insertionsOn && (selector.requires.fork === true || selector.requires.batchedSideRuns === true);
  const exclude = new Set<number>();
  const insertions: InsertionRecord[] = [];
  const tokens: number[] = [];
  let insertedTokens = 0;
  let insertionMs = 0;
  let decodeMs = 0;
  let decodeSteps = 0;
  let stepStart = 0;

  yield {
    type: 'start',
    promptTokens: prompt.length,
    queryImage: { rows: image.grid.rows, cols: image.grid.cols, tiles: imageTiles(image).length, patches: image.patchCount },
    settings,
  };

  const session = model.createSession();
  try {
    const afterPrompt = insertionsOn && settings.insertAfterPrompt;
    const prefillStart = performance.now();
    let out = await session.step({
      segments: prompt.segments,
      positions: prompt.positions,
      attention: afterPrompt && wantAttention,
      ...(signalLayers ? { layerAttention: signalLayers } : {}),
      signal,
    });
    const prefillMs = performance.now() - prefillStart;
    let logits = out.logits;
    /** Attention mass on the query image of the pass that produced `logits` (when the trigger asks for it). */
    let imageAttention = out.layerAttention ? massAt(out.layerAttention, query.cacheIndices) : undefined;
    let position = prompt.nextPosition;

    /** Side runs from the state as it stands; forks the selector leaves open are disposed after it returns. */
    const sideRunContext = (forks: DecodingSessionV2[]): SideRunContext => ({
      model,
      position,
      logits,
      imagePositions,
      fork: () => {
        if (!session.fork) throw missing('fork', model, `Selector '${selector.name}'`, 'Declare requires.fork in the selector, and use a backend that has it.');
        const fork = session.fork();
        forks.push(fork);
        return fork;
      },
      sideRuns: (inputs) => {
        if (!session.sideRuns)
          throw missing('batchedSideRuns', model, `Selector '${selector.name}'`, 'Declare requires.batchedSideRuns in the selector, and use a backend that has it.');
        return session.sideRuns(inputs);
      },
    });

    /** Tokens in the context so far: the prompt, the insertions and every generated token (the last one fed or about to be). */
    const contextUsed = (): number => prompt.length + insertedTokens + tokens.length;

    /** Select and insert; undefined when the selector chose nothing, NO_ROOM when the block and a token after it would not fit in the context. */
    const insert = async (step: number, token: number | null, attention: Float32Array | undefined): Promise<InsertionRecord | typeof NO_ROOM | undefined> => {
      const t0 = performance.now();
      let scores: Float32Array | undefined;
      let row: number[] | null = null;
      if (wantAttention) {
        if (!attention) throw new IcotError('internal', `Backend '${model.provider}' returned no attention row although it was asked for one.`);
        scores = gatherByCacheIndex(attention, query.cacheIndices);
        row = Array.from(scores); // recorded as the selector received it (O(patches))
      }
      const stepText = model.tokenizer.decode(tokens.slice(stepStart));
      const forks: DecodingSessionV2[] = [];
      let selection;
      try {
        selection = await selector.select({
          scores,
          image,
          cacheIndices: query.cacheIndices,
          ...(selector.requires.pixels ? { pixels: image.pixels! } : {}),
          k,
          exclude,
          step,
          stepText,
          ...(wantSideRuns ? { sideRuns: sideRunContext(forks) } : {}),
          random,
          signal,
        });
      } finally {
        for (const fork of forks) fork.dispose();
      }
      const selected = checkSelection(selection.indices, image.patchCount, k, selector.name);
      if (selected.length === 0) return undefined;
      if (contextLimit !== undefined) {
        // the family's block for these patches: what the input decoder feeds, the most a KV decoder adds
        const block = family.insertionBlock({ image, patches: selected, start: position, layout: decoder.layout });
        if (contextUsed() + block.positions.length >= contextLimit) return NO_ROOM;
      }
      const result = await decoder.insert({
        model,
        session,
        image,
        cacheIndices: query.cacheIndices,
        imagePositions,
        patches: selected,
        position,
        logits,
        ...(signalLayers ? { layerAttention: signalLayers } : {}),
        signal,
      });
      logits = result.logits;
      imageAttention = result.layerAttention ? massAt(result.layerAttention, query.cacheIndices) : undefined;
      const record: InsertionRecord = {
        step,
        token,
        selected,
        cells: selected.map((i) => patchCell(image, i)),
        boxes: selected.map((i) => image.patchBox(i)),
        scores: row ? selected.map((i) => row[i]!) : [],
        attention: row,
        stepText,
        selector: selector.name,
        ...(selection.fallback ? { fallback: { selector: selection.fallback.selector, reason: selection.fallback.reason } } : {}),
        ...(selection.variant ? { variant: selection.variant } : {}),
        ...(selection.regions ? { regions: selection.regions.map((r) => [...r]) } : {}),
        ...(selection.groundedBoxes ? { groundedBoxes: selection.groundedBoxes.map((b) => ({ ...b })) } : {}),
        position,
        insertedTokens: result.insertedTokens,
        ms: performance.now() - t0,
      };
      position = result.nextPosition;
      insertedTokens += result.insertedTokens;
      insertionMs += record.ms;
      if (settings.excludeSelected) for (const i of selected) exclude.add(i);
      insertions.push(record);
      stepStart = tokens.length;
      return record;
    };

    let finishReason: ICoTResult['finishReason'] = 'length';
    if (afterPrompt) {
      const record = await insert(-1, null, out.attention);
      if (record === NO_ROOM) finishReason = 'context-limit';
      else if (record) yield { type: 'insertion', insertion: record };
    }

    for (let step = 0; step < maxNewTokens && finishReason !== 'context-limit'; step++) {
      throwIfAborted(signal);
      const probabilityGap = wantGap ? sampler.probabilityGap(logits) : undefined;
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
      if (contextLimit !== undefined && contextUsed() >= contextLimit) {
        finishReason = 'context-limit'; // the context is full: no room for another token
        break;
      }
      const signals: StepSignals =
        imageAttention === undefined && probabilityGap === undefined
          ? NO_SIGNALS
          : { ...(imageAttention !== undefined ? { imageAttention } : {}), ...(probabilityGap !== undefined ? { probabilityGap } : {}) };
      const fired = triggerRun.onToken({ step, token, tokenText: model.tokenizer.decode([token]), insertions: insertions.length, signals });
      const fire = insertionsOn && fired && insertions.length < maxInsertions;
      const t0 = performance.now();
      out = await session.step({
        segments: [{ type: 'tokens', ids: [token] }],
        positions: family.textPositions(position, 1),
        attention: fire && wantAttention,
        ...(signalLayers ? { layerAttention: signalLayers } : {}),
        signal,
      });
      decodeMs += performance.now() - t0;
      decodeSteps += 1;
      position += 1;
      logits = out.logits;
      imageAttention = out.layerAttention ? massAt(out.layerAttention, query.cacheIndices) : undefined;
      if (fire) {
        const record = await insert(step, token, out.attention);
        if (record === NO_ROOM) {
          finishReason = 'context-limit'; // an ICoT answer does not go on without the insertion its trigger asked for
          break;
        }
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
      queryImage: { index: queryIndex, ...imageLayout(image) },
      finishReason,
      settings,
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

const NO_SIGNALS: StepSignals = Object.freeze({});
/** What an insertion returns when its block and one token after it would not fit in the model's context. */
const NO_ROOM = 'no-room' as const;

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
