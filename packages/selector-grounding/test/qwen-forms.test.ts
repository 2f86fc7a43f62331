import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRandom, OptionError, type VisionLanguageModelV2 } from '@icot/core';
import { createTestImage } from '@icot/core/test';
import { loadOnnxModel } from '@icot/backend-onnx';
import { writeTinyQwen25Vl, writeTinyQwen2Vl, type TinyModelInfo } from '@icot/testing';
import { answeredBoxToImage, GRAMMAR_START, groundingContinuation, parseAnswer, QWEN_BOX_TOKENS, readToken } from '../src/index.js';
import { createGroundingSelector, GroundingSelector } from '../src/selector.js';
import { VlmGrounder, answerPrefix, type GroundingPlan } from '../src/vlm-grounder.js';
import { addSpecialTokens, selectionPoint } from './helpers.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'icot-grounding-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

/**
 * Check a constrained answer against the model: replayed on a fresh fork, every token the grammar
 * left a choice for is the argmax of the model's logits among the allowed tokens, and forced tokens
 * are the only allowed ones.
 */
async function expectGreedyConstrained(model: VisionLanguageModelV2, point: Awaited<ReturnType<typeof selectionPoint>>, plan: GroundingPlan, prompt: readonly number[], answer: readonly number[]) {
  const grammar = plan.grammarFor(point.image);
  const fork = point.sideRuns.fork();
  let out = await fork.step({ segments: [{ type: 'tokens', ids: prompt }], positions: model.family.textPositions(point.position, prompt.length) });
  let position = point.position + prompt.length;
  let state = GRAMMAR_START;
  let decisions = 0;
  for (const id of answer) {
    const allowed = plan.tokens.filter((t) => readToken(grammar, state, t) !== undefined);
    expect(allowed.map((t) => t.id)).toContain(id);
    if (allowed.length > 1) {
      decisions += 1;
      const best = allowed.reduce((a, b) => (out.logits[b.id]! > out.logits[a.id]! ? b : a));
      expect(id).toBe(best.id);
    }
    state = readToken(grammar, state, allowed.find((t) => t.id === id)!)!;
    out = await fork.step({ segments: [{ type: 'tokens', ids: [id] }], positions: model.family.textPositions(position++, 1) });
  }
  fork.dispose();
  expect(decisions).toBeGreaterThan(0);
}

describe.each([
  ['qwen2-vl', 'Qwen2-VL with box tokens', writeTinyQwen2Vl, 'qwen2-vl box tokens'],
  ['qwen2.5-vl', 'Qwen2.5-VL', writeTinyQwen25Vl, 'qwen2.5-vl bbox_2d JSON'],
] as const)('the VLM grounder in the %s form (a generated %s, random weights)', (form, _label, write, variantName) => {
  let model: Awaited<ReturnType<typeof loadOnnxModel>>;
  let info: TinyModelInfo;
  beforeAll(async () => {
    const dir = join(root, form);
    info = await write(dir, { seed: 31, maxPixels: 336 * 224 });
    if (form === 'qwen2-vl') {
      // the generated tokenizers have Qwen's chat tokens only; the decoder has 16 spare rows for more
      const firstSpare = Math.max(...Object.values(info.specialIds)) + 1;
      await addSpecialTokens(dir, QWEN_BOX_TOKENS, firstSpare);
    }
    model = await loadOnnxModel(dir);
  });
  afterAll(() => model?.dispose());

  const promptWith = async () => {
    const image = await model.encodeImage(createTestImage(300, 200));
    return { text: info.promptText, images: [image] };
  };

  it('picks the form by itself (form: auto)', () => {
    const plan = new VlmGrounder().planFor(model);
    expect(plan.form).toBe(form);
    expect(plan.chatMl).toBe(true);
    expect(plan.writable).toBe(true);
    if (form === 'qwen2-vl') expect(plan.stopTokenIds.has(model.tokenizer.tokenToId('<|box_end|>')!)).toBe(true);
  });

  it('asks in the native form: closes the turn, asks, and starts the answer for the model', () => {
    const plan = new VlmGrounder().planFor(model);
    const text = groundingContinuation(plan, 'the red square');
    expect(text.startsWith('<|im_end|>\n<|im_start|>user\nLocate "the red square" in the image')).toBe(true);
    expect(text.endsWith(`<|im_start|>assistant\n${answerPrefix(form, 'the red square')}`)).toBe(true);
    if (form === 'qwen2-vl') expect(text.endsWith('<|object_ref_start|>the red square<|object_ref_end|><|box_start|>')).toBe(true);
    else expect(text.endsWith('```json\n[\n\t{"bbox_2d": [')).toBe(true);
    // special tokens are single tokens of the prompt
    const ids = model.tokenizer.encode(text);
    expect(ids).toContain(model.tokenizer.tokenToId('<|im_end|>'));
    if (form === 'qwen2-vl') expect(ids.at(-1)).toBe(model.tokenizer.tokenToId('<|box_start|>'));
  });

  it('writes a box on a fork, greedily within the grammar, and selects its patches with no fallback; the main cache is untouched', async () => {
    const prompt = await promptWith();
    const point = await selectionPoint(model, prompt, model.tokenizer.encode('The')[0]!);
    const grounder = new VlmGrounder();
    const selector = new GroundingSelector({}, grounder);
    const before = point.session.length;
    const selection = await selector.select({ scores: point.scores, image: point.image, cacheIndices: point.cacheIndices, k: 6, exclude: new Set(), step: 0, stepText: 'the red square', random: createRandom(0), sideRuns: point.sideRuns });
    expect(point.session.length).toBe(before);
    expect(point.forks).toHaveLength(1);
    expect(selection.fallback, JSON.stringify(selection.fallback)).toBeUndefined();
    expect(selection.variant).toBe(`vlm: ${variantName}, constrained decoding; the step; top-k by overlap`);
    expect(selection.groundedBoxes).toHaveLength(1);
    expect(selection.indices).toHaveLength(6);

    // the same side run by hand: its answer is the grammar-constrained greedy answer, and parses to the reported box
    const plan = grounder.planFor(model);
    const promptIds = model.tokenizer.encode(groundingContinuation(plan, 'the red square'));
    const fork = point.sideRuns.fork();
    const { decodeAnswer } = await import('../src/vlm-grounder.js');
    const answer = await decodeAnswer(fork, model, promptIds, point.position, plan, { decoding: 'constrained', maxAnswerTokens: 32, grammar: plan.grammarFor(point.image) });
    fork.dispose();
    expect(answer.complete).toBe(true);
    await expectGreedyConstrained(model, point, plan, promptIds, answer.ids);
    const written = model.tokenizer.decode(answer.ids);
    if (form === 'qwen2-vl') expect(written).toMatch(/^\(\d{1,3},\d{1,3}\),\(\d{1,3},\d{1,3}\)<\|box_end\|>$/);
    else expect(written).toMatch(/^\d{1,5}, ?\d{1,5}, ?\d{1,5}, ?\d{1,5}\]$/);
    const parsed = parseAnswer(answerPrefix(form, 'the red square'), written, form);
    expect(parsed).toHaveLength(1);
    expect(selection.groundedBoxes![0]).toEqual({ ...answeredBoxToImage(parsed[0]!, form, point.image), text: 'the red square' });

    // the main session goes on as a fresh one that never saw the side runs
    const next = await point.session.step({ segments: [{ type: 'tokens', ids: [5] }], positions: model.family.textPositions(point.position, 1) });
    const fresh = await selectionPoint(model, prompt, model.tokenizer.encode('The')[0]!);
    const expected = await fresh.session.step({ segments: [{ type: 'tokens', ids: [5] }], positions: model.family.textPositions(fresh.position, 1) });
    expect(Array.from(next.logits)).toEqual(Array.from(expected.logits));
    point.dispose();
    fresh.dispose();
  });

  it('free decoding of a random-weight model: the unparsed answer falls back to ADS and says so', async () => {
    const point = await selectionPoint(model, await promptWith(), model.tokenizer.encode('The')[0]!);
    const selection = await createGroundingSelector({ decoding: 'free', maxAnswerTokens: 8 }).select({
      scores: point.scores,
      image: point.image,
      cacheIndices: point.cacheIndices,
      k: 6,
      exclude: new Set(),
      step: 0,
      stepText: 'the red square',
      random: createRandom(0),
      sideRuns: point.sideRuns,
    });
    expect(selection.fallback?.selector).toBe('ads');
    expect(selection.fallback?.reason).toMatch(/^the answer held no box: /);
    point.dispose();
  });
});

it("refuses form 'qwen2-vl' on a tokenizer without the box tokens (OptionError naming the fix)", async () => {
  const dir = join(root, 'no-box-tokens');
  await writeTinyQwen2Vl(dir, { seed: 32 });
  const model = await loadOnnxModel(dir);
  try {
    const error = (() => {
      try {
        new VlmGrounder({ form: 'qwen2-vl' }).planFor(model);
      } catch (e) {
        return e as OptionError;
      }
    })();
    expect(error).toBeInstanceOf(OptionError);
    expect(error?.message).toMatch(/needs the tokenizer's <\|object_ref_start\|> <\|object_ref_end\|> <\|box_start\|> <\|box_end\|> tokens/);
    expect(error?.hint).toMatch(/form: 'auto' or 'plain'/);
    expect(new VlmGrounder().planFor(model).form).toBe('plain');
  } finally {
    await model.dispose();
  }
});
