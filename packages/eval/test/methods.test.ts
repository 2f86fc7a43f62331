import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '@icot/core';
import {
  ICOT_DEMONSTRATION,
  demonstrationRegions,
  parseDecomposition,
  parseM3CoTSplit,
  pythonRepr,
  runMethod,
  stageSeed,
  type EvalMethod,
  type EvalSample,
  type MethodSettings,
  type OpenEndedSample,
  type StagePrompt,
} from '../src/index.js';

// Known answers: the prompts as ICoT's, CCoT's and DDCoT's code write them (strings typed from the
// sources named in src/methods.ts), rendered the way a chat without template joins them.

const sample = parseM3CoTSplit(
  JSON.stringify({ id: 'q-1', question: 'Which animal is shown?', choices: ['cat', 'dog', 'bird'], answer: 'B', context: 'A photo from a farm.', domain: 'science', topic: 'biology', image: 'x' }),
  { file: 'test.jsonl', split: 'test' },
).samples[0]!;
const open: OpenEndedSample = { dataset: 'llava-w', id: '7', question: 'Describe this photo in detail.', category: 'detail', reference: 'A photo.', image: 'images/001.jpg', location: { file: 'questions.jsonl' }, record: {} };

/** The messages as one text: image parts as <image>, messages joined by '\n' (Chameleon's formatting without a template). */
function render(messages: readonly ChatMessage[]): string {
  return messages.map((m) => (typeof m.content === 'string' ? m.content : m.content.map((p) => (p.type === 'image' ? '<image>' : p.text)).join(''))).join('\n');
}

async function prompts(s: EvalSample, settings: MethodSettings, outputs: Record<string, string> = {}): Promise<StagePrompt[]> {
  const seen: StagePrompt[] = [];
  await runMethod(s, settings, async (prompt) => {
    seen.push(prompt);
    return { text: outputs[prompt.stage] ?? `<${prompt.stage} output>` };
  });
  return seen;
}

const chameleonRegions = demonstrationRegions({ grid: { rows: 32, cols: 32 }, width: 640, height: 480, coverage: 'center-crop' });

describe('single-stage methods (ICoT run.py, qwen2_vl/, reference_prompts.py)', () => {
  it('chat, zero-shot: ICoT and CoT end with "Let\'s think step by step.\\n", No-CoT with "Answer:"; context only when asked', async () => {
    const [icot] = await prompts(sample, { method: 'icot', shots: 0, style: 'chat', context: false });
    expect(icot!.messages).toEqual([{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: "Question: Which animal is shown?\nOptions:\nA. cat\nB. dog\nC. bird\nLet's think step by step.\n" }] }]);
    expect(icot!.images).toEqual(['query']);
    expect(icot!.final).toBe(true);
    const [cot] = await prompts(sample, { method: 'cot', shots: 0, style: 'chat', context: true });
    expect(render(cot!.messages)).toBe("<image>Context: A photo from a farm.\nQuestion: Which animal is shown?\nOptions:\nA. cat\nB. dog\nC. bird\nLet's think step by step.\n");
    const [plain] = await prompts(sample, { method: 'no-cot', shots: 0, style: 'chat', context: false });
    expect(render(plain!.messages)).toBe('<image>Question: Which animal is shown?\nOptions:\nA. cat\nB. dog\nC. bird\nAnswer:');
  });

  it('chameleon, zero-shot: ICoT is run.py\'s mcot_input_str, CoT and No-CoT reference_prompts.py\'s, each with Chameleon\'s separator', async () => {
    const text = async (method: EvalMethod) => render((await prompts(sample, { method, shots: 0, style: 'chameleon', context: false }))[0]!.messages);
    expect(await text('icot')).toBe('<image>Question: Which animal is shown?\nOptions:\nA. cat\nB. dog\nC. bird\n<reserved08706>');
    expect(await text('cot')).toBe("<image>Question: Which animal is shown?\nOptions:\nA. cat\nB. dog\nC. bird\nLet's think step by step.<reserved08706>");
    expect(await text('no-cot')).toBe('<image>Question: Which animal is shown?\nOptions:\nA. cat\nB. dog\nC. bird\nAnswer:<reserved08706>');
  });

  it('chameleon, one-shot ICoT: run.py\'s mcot_induct with its <imageR0-R1-C0-C1> regions as region tags of image 1, then the query', async () => {
    const [stage] = await prompts(sample, { method: 'icot', shots: 1, style: 'chameleon', context: false, demonstrationRegions: chameleonRegions });
    expect(stage!.images).toEqual(['demo', 'query']);
    expect(render(stage!.messages)).toBe(
      '<image>Question: What general conclusion can you draw about this kitchen?\nOptions:\nA. This is the kitchen of a restaurant\nB. The equipment in front has not been cleaned for a long time\nC. Someone searched in this kitchen\nD. All options are correct\n' +
        '<region image=1 rows=11-20 cols=0-10>First, the image shows large ovens in a kitchen area that indicates it is a kitchen of a restaurant. Therefore, option A is correct. ' +
        '<region image=1 rows=4-9 cols=23-28>Second, there are grease stains on the front of appliances which are indicative of not being cleaned in a while. So option B is correct answer. ' +
        '<region image=1 rows=21-31 cols=1-8>Third, cabinet doors are opened up throughout the kitchen which shows someone was searching for something. So option C is incorrect. Therefore, we can infer that option A, B and C are all correct.\nAnswer: D\n' +
        '<image>Question: Which animal is shown?\nOptions:\nA. cat\nB. dog\nC. bird\n<reserved08706>',
    );
  });

  it('chat, one-shot ICoT: icot_qwen2vl.py\'s one_shot_messages_mcot, each step after its (framed) region', async () => {
    const frame = { before: '<|vision_start|>', after: '<|vision_end|>' };
    const [stage] = await prompts(sample, { method: 'icot', shots: 1, style: 'chat', context: false, demonstrationRegions: chameleonRegions, regionFrame: frame });
    const content = (stage!.messages[0]!.content as { type: string; text?: string }[]).map((p) => (p.type === 'image' ? '<image>' : p.text));
    expect(content).toEqual([
      '<image>',
      'Question: What general conclusion can you draw about this kitchen?\nOptions:\nA. This is the kitchen of a restaurant\nB. The equipment in front has not been cleaned for a long time\nC. Someone searched in this kitchen\nD. All options are correct\n',
      '<|vision_start|><region image=1 rows=11-20 cols=0-10><|vision_end|>',
      "Let's think step by step.\nFirst, the image shows large ovens in a kitchen area that indicates it is a kitchen of a restaurant. Therefore, option A is correct.",
      '<|vision_start|><region image=1 rows=4-9 cols=23-28><|vision_end|>',
      'Second, there are grease stains on the front of appliances which are indicative of not being cleaned in a while. So option B is correct answer.',
      '<|vision_start|><region image=1 rows=21-31 cols=1-8><|vision_end|>',
      'Third, cabinet doors are opened up throughout the kitchen which shows someone was searching for something. So option C is incorrect. Therefore, we can infer that option A, B and C are all correct.',
      'Answer: D\n\n',
      '<image>',
      "Question: Which animal is shown?\nOptions:\nA. cat\nB. dog\nC. bird\nLet's think step by step.\n",
    ]);
  });

  it('one-shot text CoT and No-CoT: the demonstration without regions (few_shot_cot_demos, one_shot_cot, few_shot_demos, one_shot)', async () => {
    const block = 'Question: What general conclusion can you draw about this kitchen?\nOptions:\nA. This is the kitchen of a restaurant\nB. The equipment in front has not been cleaned for a long time\nC. Someone searched in this kitchen\nD. All options are correct\n';
    const query = 'Question: Which animal is shown?\nOptions:\nA. cat\nB. dog\nC. bird\n';
    const text = async (method: EvalMethod, style: 'chat' | 'chameleon') => render((await prompts(sample, { method, shots: 1, style, context: false }))[0]!.messages);
    expect(await text('cot', 'chat')).toBe(`<image>${block}Let's think step by step.\n${ICOT_DEMONSTRATION.rationale}\nAnswer: D\n<image>${query}Let's think step by step.\n`);
    expect(await text('cot', 'chameleon')).toBe(`<image>${block}${ICOT_DEMONSTRATION.rationale}\nAnswer: D\n<image>${query}<reserved08706>`);
    expect(await text('no-cot', 'chat')).toBe(`<image>${block}Answer: D\n<image>${query}Answer:`);
    expect(await text('no-cot', 'chameleon')).toBe(`<image>${block}Answer: D\n<image>${query}<reserved08706>`);
  });

  it('one-shot ICoT without the regions is refused', async () => {
    await expect(prompts(sample, { method: 'icot', shots: 1, style: 'chat', context: false })).rejects.toThrow(/needs the demonstration's 3 regions/);
  });

  it('open-ended questions: the question block without options', async () => {
    const [stage] = await prompts(open, { method: 'icot', shots: 0, style: 'chat', context: true });
    expect(render(stage!.messages)).toBe("<image>Question: Describe this photo in detail.\nLet's think step by step.\n");
  });
});

describe('CCoT (chancharikmitra/CCoT LLaVA_MMBench.py, LLaVA_bench.py)', () => {
  it('multiple choice: the scene graph from the context and question, then the answer from the stripped scene graph', async () => {
    const stages = await prompts(sample, { method: 'ccot', shots: 0, style: 'chat', context: true }, { 'scene-graph': '  {"objects": ["dog"]}\n' });
    expect(stages.map((s) => [s.stage, s.final])).toEqual([['scene-graph', false], ['answer', true]]);
    expect(render(stages[0]!.messages)).toBe(
      '<image>A photo from a farm.\nWhich animal is shown?\n\nFor the provided image and its associated question, generate a scene graph in JSON format that includes the following:\n1. Objects that are relevant to answering the question\n2. Object attributes that are relevant to answering the question\n3. Object relationships that are relevant to answering the question\n\nScene Graph:\n',
    );
    expect(render(stages[1]!.messages)).toBe(
      '<image>Scene Graph: {"objects": ["dog"]}\n\nUse the image and scene graph as context and answer the following question: Which animal is shown?\nA. cat\nB. dog\nC. bird\nAnswer with the option\'s letter from the given choices directly.',
    );
  });

  it('LLaVA-W: first answer, scene graph of the question and answer, improved answer', async () => {
    const stages = await prompts(open, { method: 'ccot', shots: 0, style: 'chat', context: false }, { 'first-answer': ' A dog. ', 'scene-graph': '{"dog": {}}' });
    expect(stages.map((s) => s.stage)).toEqual(['first-answer', 'scene-graph', 'answer']);
    expect(render(stages[0]!.messages)).toBe('<image>Describe this photo in detail.');
    expect(render(stages[1]!.messages)).toMatch(/^<image>Question: Describe this photo in detail\.\nAnswer: A dog\.\n\n\n\nFor the provided image and question-answer pair, generate a scene graph/);
    expect(render(stages[2]!.messages)).toBe(
      '<image>Use the image and scene graph as context to improve the detail and clarity of the original answer: \n\nScene Graph: {"dog": {}}\n\nQuestion: Describe this photo in detail.\nOriginal Answer: A dog.\nImproved Answer: ',
    );
  });

  it('one-shot: the text-CoT demonstration goes before the query of the answer stage only', async () => {
    const stages = await prompts(sample, { method: 'ccot', shots: 1, style: 'chat', context: false });
    expect(stages.map((s) => s.images)).toEqual([['query'], ['demo', 'query']]);
  });
});

describe('DDCoT (SooLab/DDCOT rationale_generation.py), every stage on the same VLM', () => {
  const decomposition = "Sub-questions:\n 1. What animal is in the image?\n2. What sound does it make?\n\nSub-answers:\n1. Uncertain\n2. It barks.\n\nAnswer: Uncertain";

  it('parses sub-questions and sub-answers as the original does', () => {
    expect(parseDecomposition(decomposition)).toEqual([
      { question: 'What animal is in the image?', answer: 'Uncertain' },
      { question: 'What sound does it make?', answer: 'It barks.' },
    ]);
    expect(parseDecomposition('no sections at all')).toEqual([]);
    expect(parseDecomposition('Sub-questions:\n1. a\n2. b\nSub-answers:\n1. x\nAnswer: y')).toEqual([{ question: 'a', answer: 'x' }]);
  });

  it('decompose, a visual answer for each uncertain sub-answer only, then integrate with the preliminary knowledge', async () => {
    const stages = await prompts(sample, { method: 'ddcot', shots: 0, style: 'chat', context: false }, { decompose: decomposition, 'sub-answer-1': ' A dog \n', integrate: 'Rationale: ...\nAnswers: dog' });
    expect(stages.map((s) => [s.stage, s.final])).toEqual([['decompose', false], ['sub-answer-1', false], ['integrate', true]]);
    expect(stages[0]!.messages[0]).toEqual({ role: 'system', content: expect.stringMatching(/^You are a helpful, highly intelligent guided assistant\./) });
    expect(render(stages[0]!.messages)).toMatch(/\nHere is an attempt:\nContext: N\/A \nHas An Image: yes\nQuestion: Which animal is shown\?\nOptions: \['cat', 'dog', 'bird'\]$/);
    expect(render(stages[1]!.messages)).toBe('<image>Question: What animal is in the image? Answer:');
    const integrate = render(stages[2]!.messages);
    expect(integrate).toMatch(/^You are a helpful, highly intelligent teacher\./);
    expect(integrate).toMatch(/Options: \['cat', 'dog', 'bird'\]\nPreliminary knowledge: \nQuestion: What animal is in the image\? Answer:A dog\nQuestion: What sound does it make\? Answer:It barks\.\n$/);
  });

  it("writes the options as Python's repr of the list", () => {
    const cases: [string, string][] = [
      ['Vitamins', "'Vitamins'"],
      ["it's", '"it\'s"'],
      ['say "hi"', `'say "hi"'`],
      [`both ' and "`, `'both \\' and "'`],
      ['back\\slash', "'back\\\\slash'"],
      ['tab\there', "'tab\\there'"],
      ['new\nline', "'new\\nline'"],
      ['é ü 中', "'é ü 中'"],
      ['\x07bell', "'\\x07bell'"],
    ]; // each checked against Python 3's repr()
    for (const [value, repr] of cases) expect(pythonRepr(value)).toBe(repr);
  });
});

describe('the demonstration regions on other grids', () => {
  it('32 x 32 center crop: exactly run.py\'s tags (end exclusive there, inclusive here)', () => {
    expect(chameleonRegions).toEqual([
      { rows: [11, 20], cols: [0, 10] },
      { rows: [4, 9], cols: [23, 28] },
      { rows: [21, 31], cols: [1, 8] },
    ]);
  });

  it('a smaller center-crop grid scales them; a whole-image grid places the central square', () => {
    expect(demonstrationRegions({ grid: { rows: 16, cols: 16 }, width: 128, height: 128, coverage: 'center-crop' })).toEqual([
      { rows: [5, 10], cols: [0, 5] },
      { rows: [2, 4], cols: [11, 14] },
      { rows: [10, 15], cols: [0, 4] },
    ]);
    // a square image: the same fractions of the grid
    expect(demonstrationRegions({ grid: { rows: 8, cols: 8 }, width: 224, height: 224, coverage: 'whole' })[0]).toEqual({ rows: [2, 5], cols: [0, 2] });
    // 2:1 landscape: the square is the middle half of the width
    const [first] = demonstrationRegions({ grid: { rows: 10, cols: 20 }, width: 400, height: 200, coverage: 'whole' });
    expect(first).toEqual({ rows: [3, 6], cols: [5, 8] }); // x from 100 to 100 + 68.75 of 400 px: cols 5 to 8.44, so 5-8
  });
});

describe('stageSeed', () => {
  it('depends on the seed, the sample and the stage only', () => {
    expect(stageSeed(0, 'a', 'answer')).toBe(stageSeed(0, 'a', 'answer'));
    const seeds = new Set([stageSeed(0, 'a', 'answer'), stageSeed(1, 'a', 'answer'), stageSeed(0, 'b', 'answer'), stageSeed(0, 'a', 'decompose')]);
    expect(seeds.size).toBe(4);
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
  });
});
