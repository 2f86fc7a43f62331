import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFields, massAt, streamICoT, type EncodedImage, type ICoTEvent, type InsertionDecoderV2, type PatchSelectorV2, type VisionLanguageModelV2 } from '@icot/core';
import { createTestImage } from '@icot/core/test';
import { argmax, everyNthTokenTrigger, toleranceOf } from './conformance.js';

/** Backends the real-model check can load a folder with (`ICOT_REAL_BACKEND`). */
export type RealModelBackend = 'onnx' | 'transformers';

/** What `ICOT_REAL_MODEL`, `ICOT_REAL_BACKEND` and `ICOT_REAL_DTYPE` ask for. */
export interface RealModelEnvironment {
  /** Absolute path of the model folder, or undefined when `ICOT_REAL_MODEL` is unset. */
  readonly dir: string | undefined;
  /** Backend to load it with (default `onnx`). */
  readonly backend: RealModelBackend;
  /** Weight variant (the backends' `dtype`, e.g. `fp16`, `q4f16`); undefined for the default. */
  readonly dtype: string | undefined;
}

/** Read the real-model check's environment variables (relative folders resolve against `cwd`). */
export function realModelEnvironment(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): RealModelEnvironment {
  const backend = env['ICOT_REAL_BACKEND'] || 'onnx';
  if (backend !== 'onnx' && backend !== 'transformers') throw new Error(`ICOT_REAL_BACKEND must be 'onnx' or 'transformers', got '${backend}'.`);
  const dir = env['ICOT_REAL_MODEL'] || undefined;
  return { dir: dir === undefined ? undefined : resolve(cwd, dir), backend, dtype: env['ICOT_REAL_DTYPE'] || undefined };
}

/** The parts the real-model check runs a model with. */
export interface RealModelSetup {
  readonly model: VisionLanguageModelV2;
  /** The selector of the ICoT run (ADS for an attention check). */
  readonly selector: PatchSelectorV2;
  readonly decoder: InsertionDecoderV2;
}

/** Options of {@link describeRealModelChecks}. */
export interface RealModelCheckOptions {
  /** What the environment asks for (see {@link realModelEnvironment}). */
  readonly environment: RealModelEnvironment;
  /** The backend this suite loads with; the suite is skipped when the environment asks for another. */
  readonly backend: RealModelBackend;
  /** Load the folder with this backend. */
  readonly load: (dir: string, dtype: string | undefined) => Promise<RealModelSetup>;
  /** Per-check time limit (default 10 minutes: real models load and decode slowly on a CPU). */
  readonly timeoutMs?: number;
}

/** Ids and token counts read from a model folder's files. */
interface FolderFacts {
  readonly configVocab: number | undefined;
  /** Special token ids a config names (vision start/end/pad, image token ...). */
  readonly configTokenIds: Readonly<Record<string, number>>;
  /** Largest token id in tokenizer.json + 1. */
  readonly tokenizerSize: number;
}

/** Config keys that name special token ids (Qwen2-VL, LLaVA, Chameleon-class). */
const CONFIG_TOKEN_KEYS = ['vision_start_token_id', 'vision_end_token_id', 'vision_token_id', 'image_token_id', 'image_token_index', 'boi_token_id', 'eoi_token_id'];

function readFolderFacts(dir: string): FolderFacts {
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  // the reader the backends use: text sizes from text_config first, token ids from the top level first
  const fields = configFields(config);
  const vocab = fields.textNumber('vocab_size');
  const configTokenIds: Record<string, number> = {};
  for (const key of CONFIG_TOKEN_KEYS) {
    const v = fields.topNumber(key);
    if (v !== undefined) configTokenIds[key] = v;
  }
  const tokenizer = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as {
    model?: { vocab?: Record<string, number> | [string, number][] };
    added_tokens?: { id: number }[];
  };
  let maxId = -1;
  const modelVocab = tokenizer.model?.vocab;
  if (Array.isArray(modelVocab)) maxId = modelVocab.length - 1; // Unigram: [piece, score] rows, id = row
  else for (const id of Object.values(modelVocab ?? {})) if (id > maxId) maxId = id;
  for (const added of tokenizer.added_tokens ?? []) if (added.id > maxId) maxId = added.id;
  return { configVocab: vocab, configTokenIds, tokenizerSize: maxId + 1 };
}

/**
 * Checks of a real exported model folder, for anyone with weights (`ICOT_REAL_MODEL=DIR pnpm
 * test:real`): special tokens resolve (eos, the image placeholder, the family's framing tokens,
 * the token ids the config names); config `vocab_size` equals the model's vocabulary, the logits
 * cover it and the tokenizer fits in it (a tokenizer smaller than the padded vocabulary, like
 * Qwen2-VL's 151,657 tokens for 151,936 logits, is reported, not failed); the chat template
 * renders a message with an image; the attention row of a step sums to 1 over the cache (within
 * the dtype's tolerance); one short ICoT run completes with its events in order. Without a folder
 * the suite is skipped and its name says why.
 */
export function describeRealModelChecks(options: RealModelCheckOptions): void {
  const { environment, backend } = options;
  const dir = environment.dir;
  const timeout = options.timeoutMs ?? 600_000;
  const reason =
    dir === undefined
      ? 'skipped: ICOT_REAL_MODEL is not set (ICOT_REAL_MODEL=DIR pnpm test:real checks a real model folder)'
      : environment.backend !== backend
        ? `skipped: ICOT_REAL_BACKEND is ${environment.backend}`
        : `${dir}${environment.dtype ? ` (dtype ${environment.dtype})` : ''}`;
  describe.skipIf(dir === undefined || environment.backend !== backend)(`real model, ${backend} backend: ${reason}`, () => {
    let s: RealModelSetup;
    let facts: FolderFacts;
    let image: EncodedImage;
    const tolerance = toleranceOf(environment.dtype);
    beforeAll(async () => {
      facts = readFolderFacts(dir!);
      s = await options.load(dir!, environment.dtype);
      image = await s.model.encodeImage(createTestImage(224, 224));
    }, timeout);
    afterAll(async () => {
      await s?.model.dispose();
    });
    const chat = (text: string) => s.model.preparePrompt({ messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text }] }], images: [image] });
    /** A token id's text resolves back to the same id. */
    const expectResolves = (id: number, what: string) => {
      expect(id, `${what} id ${id} is inside the vocabulary`).toBeLessThan(s.model.vocabSize);
      const text = s.model.tokenizer.decode([id]);
      expect(text, `${what} id ${id} decodes to a token`).not.toBe('');
      expect(s.model.tokenizer.tokenToId(text), `${what} '${text}' resolves back to id ${id}`).toBe(id);
    };

    it(
      'resolves special tokens: eos, the image placeholder, the framing of an inserted block and the ids the config names',
      () => {
        expect(s.model.eosTokenIds.length).toBeGreaterThan(0);
        for (const id of s.model.eosTokenIds) expectResolves(id, 'eos');
        const placeholder = s.model.tokenizer.encode(s.model.family.imagePlaceholder);
        expect(placeholder, `the image placeholder ${s.model.family.imagePlaceholder} is one token`).toHaveLength(1);
        expectResolves(placeholder[0]!, 'image placeholder');
        const block = s.model.family.insertionBlock({ image, patches: [0], start: 0, layout: 'grid' });
        const framing = block.segments.flatMap((segment) => (segment.type === 'tokens' ? segment.ids : []));
        for (const id of framing) expectResolves(id, `${s.model.family.name} framing token`);
        for (const [key, id] of Object.entries(facts.configTokenIds)) expectResolves(id, `config ${key}`);
        console.log(
          `[real model] eos ${s.model.eosTokenIds.map((id) => `${id} ${s.model.tokenizer.decode([id])}`).join(', ')}; placeholder ${placeholder[0]}; framing ${framing.map((id) => `${id} ${s.model.tokenizer.decode([id])}`).join(', ') || 'none'}`,
        );
      },
      timeout,
    );

    it(
      "checks the vocabulary: config vocab_size = the model's, <= the logits, >= the tokenizer (smaller: padded rows, a warning)",
      async () => {
        expect(facts.configVocab, 'config.json has vocab_size').toBeDefined();
        expect(s.model.vocabSize).toBe(facts.configVocab);
        const prompt = await chat('Describe the image.');
        const session = s.model.createSession();
        const out = await session.step({ segments: prompt.segments, positions: prompt.positions });
        session.dispose();
        expect(out.logits.length, 'the decoder returns a logit per vocabulary entry').toBeGreaterThanOrEqual(s.model.vocabSize);
        expect(facts.tokenizerSize, 'every token the tokenizer produces has a logit').toBeLessThanOrEqual(s.model.vocabSize);
        const padding = s.model.vocabSize - facts.tokenizerSize;
        const greedy = argmax(out.logits, s.model.vocabSize);
        console.log(
          `[real model] vocab_size ${facts.configVocab}, logits ${out.logits.length}, tokenizer ${facts.tokenizerSize} tokens${padding > 0 ? ` (${padding} padded ids with no token)` : ''}; greedy first token ${greedy}`,
        );
        if (out.logits.length > s.model.vocabSize) console.warn(`[real model] warning: ${out.logits.length - s.model.vocabSize} logits past vocab_size are ignored.`);
        if (padding > 0 && greedy >= facts.tokenizerSize) console.warn(`[real model] warning: the greedy first token ${greedy} is a padded id the tokenizer cannot decode.`);
      },
      timeout,
    );

    it(
      'renders the chat template for a user message with an image',
      async () => {
        const question = 'What is in the top left corner of the image?';
        const prompt = await chat(question);
        expect(prompt.images).toHaveLength(1);
        expect(prompt.images[0]!.image.patchCount).toBe(image.patchCount);
        expect(prompt.length).toBeGreaterThanOrEqual(prompt.textTokenIds.length + image.patchCount);
        const text = s.model.tokenizer.decode(prompt.textTokenIds);
        expect(text).toContain(question);
        console.log(`[real model] chat prompt: ${prompt.length} tokens (${image.grid.rows}x${image.grid.cols} image tokens): ${JSON.stringify(text)}`);
      },
      timeout,
    );

    it(
      `taps attention: the row of a step is a distribution over the whole cache (sum within ${tolerance.attentionSum} of 1)`,
      async () => {
        expect(s.model.capabilities.attention, `attention unavailable: ${s.model.capabilities.attentionUnavailableReason ?? ''}`).toBe(true);
        const prompt = await chat('Describe the image.');
        const session = s.model.createSession();
        try {
          const first = await session.step({ segments: prompt.segments, positions: prompt.positions, attention: true });
          const next = await session.step({
            segments: [{ type: 'tokens', ids: [argmax(first.logits, s.model.vocabSize)] }],
            positions: s.model.family.textPositions(prompt.nextPosition, 1),
            attention: true,
          });
          for (const [row, length] of [
            [first.attention, prompt.length],
            [next.attention, prompt.length + 1],
          ] as const) {
            expect(row).toBeDefined();
            expect(row!.length).toBe(length);
            let sum = 0;
            let min = Infinity;
            for (const v of row!) {
              sum += v;
              if (!(v >= min)) min = v;
            }
            expect(min).toBeGreaterThanOrEqual(0);
            expect(Math.abs(sum - 1)).toBeLessThanOrEqual(tolerance.attentionSum);
          }
          const imageMass = massAt(next.attention!, prompt.images[0]!.cacheIndices);
          console.log(`[real model] attention of the first generated token: ${(imageMass * 100).toFixed(1)}% on the image`);
        } finally {
          session.dispose();
        }
      },
      timeout,
    );

    it(
      'runs one short ICoT loop: start, tokens, text, an insertion, finish',
      async () => {
        const events: ICoTEvent[] = [];
        for await (const event of streamICoT({
          model: s.model,
          prompt: { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'Describe the image step by step.' }] }], images: [image] },
          selector: s.selector,
          decoder: s.decoder,
          trigger: everyNthTokenTrigger(2),
          k: Math.min(s.model.family.defaults.k, image.patchCount),
          maxInsertions: 1,
          maxNewTokens: 6,
        }))
          events.push(event);
        expect(events[0]!.type).toBe('start');
        const finish = events.at(-1)!;
        expect(finish.type).toBe('finish');
        const result = (finish as Extract<ICoTEvent, { type: 'finish' }>).result;
        const tokens = events.filter((e) => e.type === 'token');
        expect(tokens.length).toBe(result.tokens.length);
        expect(tokens.length).toBeGreaterThan(0);
        // the trigger fires on the second token, unless the answer ended before it
        if (result.tokens.length >= 3 || result.finishReason === 'length') expect(events.filter((e) => e.type === 'insertion')).toHaveLength(1);
        const streamed = events.flatMap((e) => (e.type === 'text-delta' ? [e.text] : [])).join('');
        expect(streamed).toBe(result.text);
        console.log(
          `[real model] ICoT run: ${result.tokens.length} tokens (${result.finishReason}), ${result.insertions.length} insertion(s) of ${result.insertions[0]?.selected.length ?? 0} patches: ${JSON.stringify(result.text)}`,
        );
      },
      timeout,
    );
  });
}
