/**
 * The reasoning methods `icot eval run` compares, as prompts per stage: No-CoT, text CoT, CCoT,
 * DDCoT and ICoT, zero- or one-shot, in the two prompt styles of ICoT's code. Environment-neutral:
 * a method is run by {@link runMethod} with a `generate` function that runs one stage on a model.
 * Sources of every prompt are named where it is built; `docs/evaluation.md` has the overview.
 * @module
 */
import type { ChatMessage } from '@icot/core';
import { OptionError } from '@icot/core';
import type { MultipleChoiceSample, OpenEndedSample } from './datasets.js';
import { ICOT_DEMONSTRATION, regionTag, type Demonstration, type GridRegion } from './demonstration.js';
import { ANSWER_LETTERS } from './judge.js';

/** The methods. */
export type EvalMethod = 'no-cot' | 'cot' | 'ccot' | 'ddcot' | 'icot';

/** The method names, for option checks. */
export const EVAL_METHODS: readonly EvalMethod[] = ['no-cot', 'cot', 'ccot', 'ddcot', 'icot'];

/**
 * How prompts are written: `chat` (ICoT's Qwen2-VL code, `qwen2_vl/`: chat messages, "Let's think
 * step by step.") or `chameleon` (ICoT's `run.py` and `reference_prompts.py`: text completion after
 * `<image>`, no CoT phrase for ICoT, Chameleon's separator `<reserved08706>` at the end).
 */
export type PromptStyle = 'chat' | 'chameleon';

/** The prompt styles, for option checks. */
export const PROMPT_STYLES: readonly PromptStyle[] = ['chat', 'chameleon'];

/** A sample of any of the sets. */
export type EvalSample = MultipleChoiceSample | OpenEndedSample;

/** Which image a stage's whole-image part shows. */
export type StageImage = 'demo' | 'query';

/** One model call of a method: its name, chat messages and the images their image parts take, in order. */
export interface StagePrompt {
  /** `answer` (the one stage of No-CoT, CoT, ICoT; CCoT's last), `scene-graph`, `first-answer`, `decompose`, `sub-answer-N`, `integrate`. */
  readonly stage: string;
  readonly messages: readonly ChatMessage[];
  /** The image each `{ type: 'image' }` part takes, in order; the query image is always the last. */
  readonly images: readonly StageImage[];
  /** Whether this is the stage whose text is the method's answer (ICoT's insertions apply to it). */
  readonly final: boolean;
}

/** How a method's prompts are written for one run. */
export interface MethodSettings {
  readonly method: EvalMethod;
  readonly shots: 0 | 1;
  readonly style: PromptStyle;
  /** Whether a sample's context (M3CoT `context`, ScienceQA `hint`) is written into the prompt when it has one. */
  readonly context: boolean;
  /** One-shot ICoT: the demonstration's regions on the model's grid of the demonstration image ({@link demonstrationRegions}). */
  readonly demonstrationRegions?: readonly GridRegion[];
  /** Text around each region tag (Qwen2-VL: `<|vision_start|>` and `<|vision_end|>`, as its template frames an image). */
  readonly regionFrame?: { readonly before: string; readonly after: string };
  /** The demonstration (default ICoT's). */
  readonly demonstration?: Demonstration;
}

/** What {@link runMethod} gives back: each stage's prompt and output, and the answer's text. */
export interface MethodRun<T> {
  /** The final stage's text. */
  readonly prediction: string;
  readonly stages: readonly { readonly prompt: StagePrompt; readonly output: T }[];
  /** DDCoT: the sub-questions and sub-answers parsed from the decomposition, and which ones the model answered. */
  readonly subQuestions?: readonly { readonly question: string; readonly answer: string; readonly uncertain: boolean }[];
}

const COT_TRIGGER = "Let's think step by step.";
/** Chameleon's `sep_token`, which `ChameleonProcessor` appends in chat mode (`return_for_text_completion=False`, as `run.py` calls it). */
export const CHAMELEON_SEPARATOR = '<reserved08706>';

type Part = { readonly type: 'text'; readonly text: string } | { readonly type: 'image' };
const text = (value: string): Part => ({ type: 'text', text: value });
const image: Part = { type: 'image' };

function isMultipleChoice(sample: EvalSample): sample is MultipleChoiceSample {
  return sample.dataset !== 'llava-w';
}

/** `A. first\nB. second\n`: the options as `run.py` writes them (a line each). */
function optionLines(choices: readonly string[]): string {
  return choices.map((choice, i) => `${ANSWER_LETTERS[i]}. ${choice}\n`).join('');
}

/** The context line, when the settings write contexts and the sample has one. */
function contextLine(sample: EvalSample, settings: MethodSettings): string {
  return settings.context && isMultipleChoice(sample) && sample.context.trim() !== '' ? `Context: ${sample.context}\n` : '';
}

/** `Question: ...\nOptions:\nA. ...\n` (multiple choice) or `Question: ...\n` (open-ended), after the context line. */
function questionBlock(sample: EvalSample, settings: MethodSettings): string {
  const question = `Question: ${sample.question}\n`;
  return contextLine(sample, settings) + (isMultipleChoice(sample) ? `${question}Options:\n${optionLines(sample.choices)}` : question);
}

/** The demonstration's question block (`mcot_induct_0`). */
function demonstrationBlock(demo: Demonstration): string {
  return `Question: ${demo.question}\nOptions:\n${optionLines(demo.choices)}`;
}

/** One user message in the prompt style: chameleon joins the parts after the image and ends with the separator. */
function userMessage(settings: MethodSettings, parts: readonly Part[]): ChatMessage {
  return { role: 'user', content: settings.style === 'chameleon' ? [...parts, text(CHAMELEON_SEPARATOR)] : parts };
}

function stage(name: string, settings: MethodSettings, parts: readonly Part[], final: boolean, system?: string): StagePrompt {
  // the query image is the last whole image; any before it is the demonstration's
  const count = parts.filter((part) => part.type === 'image').length;
  const images: StageImage[] = Array.from({ length: count }, (_, i) => (i === count - 1 ? 'query' : 'demo'));
  const messages: ChatMessage[] = system === undefined ? [userMessage(settings, parts)] : [{ role: 'system', content: system }, userMessage(settings, parts)];
  return { stage: name, messages, images, final };
}

/**
 * The one-shot demonstration's parts before the query, per method and style:
 * - ICoT, chat (`qwen2_vl/icot_qwen2vl.py` `one_shot_messages_mcot`): the demo image, its question
 *   block, then each region (framed) followed by its step's text, then `Answer: D\n` + `\n`;
 * - ICoT, chameleon (`run.py` `mcot_induct` + `'\n'`): the demo image, its question block, each
 *   region tag followed by its step (`' '`-joined), `\nAnswer: D`, `\n`;
 * - text CoT (and CCoT / DDCoT, whose final stage gets the demonstration), chat
 *   (`icot_qwen_utils.py` `few_shot_cot_demos`): the demo image, its question block,
 *   `Let's think step by step.\n`, M3CoT's rationale, `\nAnswer: D\n`; chameleon
 *   (`reference_prompts.py` `one_shot_cot`): the demo image, question block, rationale, `\nAnswer: D\n`;
 * - No-CoT, chat (`few_shot_demos`): the demo image, question block, `Answer: D\n`; chameleon
 *   (`one_shot`): the same.
 */
function demonstrationParts(settings: MethodSettings): Part[] {
  if (settings.shots === 0) return [];
  const demo = settings.demonstration ?? ICOT_DEMONSTRATION;
  const block = demonstrationBlock(demo);
  if (settings.method === 'no-cot') return [image, text(`${block}Answer: ${demo.answer}\n`)];
  if (settings.method !== 'icot')
    return [image, text(settings.style === 'chat' ? `${block}${COT_TRIGGER}\n${demo.rationale}\nAnswer: ${demo.answer}\n` : `${block}${demo.rationale}\nAnswer: ${demo.answer}\n`)];
  const regions = settings.demonstrationRegions;
  if (!regions || regions.length !== demo.steps.length)
    throw new OptionError(`One-shot ICoT needs the demonstration's ${demo.steps.length} regions on the model's grid.`, {
      hint: 'Compute them with demonstrationRegions() from the demonstration image\'s patch grid.',
    });
  const frame = settings.regionFrame ?? { before: '', after: '' };
  const tag = (i: number): string => `${frame.before}${regionTag(1, regions[i]!)}${frame.after}`;
  if (settings.style === 'chat') {
    const parts: Part[] = [image, text(block)];
    demo.steps.forEach((step, i) => parts.push(text(tag(i)), text(step.text)));
    parts.push(text(`Answer: ${demo.answer}\n\n`));
    return parts;
  }
  const steps = demo.steps.map((step, i) => `${tag(i)}${step.chameleonText}`).join(' ');
  return [image, text(`${block}${steps}\nAnswer: ${demo.answer}\n`)];
}

/**
 * The single-stage methods' prompt (No-CoT, text CoT, ICoT): the demonstration (one-shot), the
 * query image, the question block and the method's ending:
 * - chat: No-CoT `Answer:` (`reference_prompts.py` `zero_shot`), CoT and ICoT
 *   `Let's think step by step.\n` (`icot_qwen2vl.py` `mcot_input_str`);
 * - chameleon: No-CoT `Answer:` zero-shot and nothing one-shot (`zero_shot`, `one_shot`), CoT
 *   `Let's think step by step.` zero-shot and nothing one-shot (`zero_shot_cot`, `one_shot_cot`),
 *   ICoT nothing (`run.py` `mcot_input_str`).
 * ICoT's prompt with insertions off is its Multimodal-CoT baseline (`cot`), as in the paper.
 */
function singleStage(sample: EvalSample, settings: MethodSettings): StagePrompt {
  const { method, style, shots } = settings;
  let ending: string;
  if (style === 'chat') ending = method === 'no-cot' ? 'Answer:' : `${COT_TRIGGER}\n`;
  else if (method === 'icot' || shots === 1) ending = '';
  else ending = method === 'no-cot' ? 'Answer:' : COT_TRIGGER;
  return stage('answer', settings, [...demonstrationParts(settings), image, text(questionBlock(sample, settings) + ending)], true);
}

// CCoT (Mitra et al., CVPR 2024; chancharikmitra/CCoT LLaVA-1.5-13b/LLaVA_MMBench.py and LLaVA_bench.py)
const CCOT_SCENE_GRAPH =
  '\nFor the provided image and its associated question, generate a scene graph in JSON format that includes the following:\n1. Objects that are relevant to answering the question\n2. Object attributes that are relevant to answering the question\n3. Object relationships that are relevant to answering the question\n\nScene Graph:\n';
const CCOT_ANSWER = 'Use the image and scene graph as context and answer the following question: ';
const CCOT_BENCH_SCENE_GRAPH =
  '\n\nFor the provided image and question-answer pair, generate a scene graph in JSON format to improve the quality and/or detail of the answer. The scene graph can include the following:\n1. Objects that are relevant to answering the question.\n2. Object attributes that are relevant to answering the question.\n3. Object relationships that are relevant to answering the question.\n\nScene Graph:\n';
const CCOT_BENCH_ANSWER = 'Use the image and scene graph as context to improve the detail and clarity of the original answer: ';

// DDCoT (Zheng et al., NeurIPS 2023; SooLab/DDCOT rationale_generation.py)
const DDCOT_DECOMPOSE_SYSTEM =
  'You are a helpful, highly intelligent guided assistant. You will do your best to guide humans in choosing the right answer to the question. Note that insufficient information to answer questions is common. The final answer should be one of the options. ';
const DDCOT_DECOMPOSE =
  "Given the context, questions and options, please think step-by-step about the preliminary knowledge to answer the question, deconstruct the problem as completely as possible down to necessary sub-questions based on context, questions and options. Then with the aim of helping humans answer the original question, try to answer the sub-questions. The expected answering form is as follows:\nSub-questions:\n 1. <sub-question 1>\n2. <sub-question 2>\n...\nSub-answers:\n1. <sub-answer 1> or 'Uncertain'\n2. <sub-answer 2> or 'Uncertain'\n...\nAnswer: <One of the options> or 'Uncertain'\n\nFor a question, assume that you do not have any information about the picture, but try to answer the sub-questions and prioritize whether your general knowledge can answer it, and then consider whether the context can help. If sub-questions can be answered, then answer in as short a sentence as possible. If sub-questions cannot be determined without information in images, please formulate corresponding sub-answer into \"Uncertain\". \nOnly use \"Uncertain\" as an answer if it appears in the sub-answers. All answers are expected as concise as possible. \nHere is an attempt:\n";
const DDCOT_INTEGRATE_SYSTEM =
  'You are a helpful, highly intelligent teacher. You will not only do your best to guide humans to the correct answer, but you will also give the rationales as a reference. ';
const DDCOT_INTEGRATE =
  'Given the context, questions, options, preliminary knowledge, think step by step and answer the questions. Please note that we need not only the answer, but more importantly the rationales of getting the answer. The expected answering form is as follows:\nRationale: <rationale>\nAnswers: <one of the options>\n\nPlease note that the preliminary knowledge given may not always be valid. Please select valid information to form the rationale and choose the relatively correct option as your answer. \nHere is an attempt:\n';
/** DDCoT's words that mark a sub-answer the language model could not give (`keywords`, matched case-sensitively as substrings). */
export const DDCOT_UNCERTAIN = ['uncertain', 'Uncertain', 'insufficient', 'Insufficient', 'cannot be determined', 'not provide', 'not possible'] as const;

/** A Python `repr` of a string (as an f-string writes a list's elements): single quotes unless the text has one and no double quote. */
export function pythonRepr(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

/** `Context: ... \nHas An Image: yes\nQuestion: ...\nOptions: [...]` as DDCoT's prompts end (context `N/A` when there is none or it is not written). */
function ddcotAttempt(sample: EvalSample, settings: MethodSettings): string {
  const context = settings.context && isMultipleChoice(sample) && sample.context.trim() !== '' ? sample.context : 'N/A';
  const options = isMultipleChoice(sample) ? `[${sample.choices.map(pythonRepr).join(', ')}]` : 'N/A';
  return `Context: ${context} \nHas An Image: yes\nQuestion: ${sample.question}\nOptions: ${options}`;
}

/**
 * DDCoT's parse of the decomposition (`rationale_generation.py`): the text between `Sub-questions:`
 * and the next `Sub-answers:`, and between `Sub-answers:` and the next `Answer:`, split into lines,
 * stripped, empty lines dropped and a leading `1.` removed; paired in order (the shorter list
 * decides). Where the original raises (no such sections), this gives no pairs.
 */
export function parseDecomposition(output: string): { question: string; answer: string }[] {
  const lines = (match: RegExpExecArray | null): string[] =>
    match ? match[1]!.split('\n').map((line) => line.trim()).filter((line) => line !== '').map((line) => line.replace(/^\d+\.\s*/, '')) : [];
  const questions = lines(/Sub-questions:([\s\S]*?)Sub-answers:/.exec(output));
  const answers = lines(/Sub-answers:([\s\S]*?)Answer:/.exec(output));
  return questions.slice(0, answers.length).map((question, i) => ({ question, answer: answers[i]! }));
}

/** Python's `str.strip()`: whitespace off both ends. */
function strip(value: string): string {
  return value.trim();
}

/**
 * Run one method on one sample: build each stage's prompt, let `generate` run it on the model, and
 * feed the outputs into the next stages. Stages, by method:
 * - `no-cot`, `cot`, `icot`: one stage, `answer` (the question with the method's instruction);
 * - `ccot`: multiple choice `scene-graph` then `answer` (LLaVA_MMBench.py: the scene-graph prompt
 *   after the context and question, then `Scene Graph: <sg>\n\n` + the answer prompt + the question and
 *   its options + "Answer with the option's letter from the given choices directly."); LLaVA-W
 *   `first-answer`, `scene-graph`, `answer` (LLaVA_bench.py: answer, scene graph of the question and
 *   answer, improved answer); outputs stripped as the original strips them;
 * - `ddcot`: `decompose` (sub-questions and sub-answers, the language model's prompt of
 *   rationale_generation.py), `sub-answer-N` for each sub-answer with an uncertainty word
 *   (`Question: <sub-question> Answer:`, the visual model's prompt), `integrate` (the rationale and
 *   answer from the preliminary knowledge). DDCoT's original runs the first and last stage on a
 *   separate text-only language model (gpt-3.5-turbo) and the middle ones on BLIP-2; here one VLM
 *   answers all of them, each with the query image in its prompt (a VLM prompt carries the image).
 * One-shot, the demonstration goes before the query of the final stage. `generate` returns at
 * least the stage's text; what else it returns is kept in `stages`.
 */
export async function runMethod<T extends { readonly text: string }>(sample: EvalSample, settings: MethodSettings, generate: (prompt: StagePrompt) => Promise<T>): Promise<MethodRun<T>> {
  const stages: { prompt: StagePrompt; output: T }[] = [];
  const call = async (prompt: StagePrompt): Promise<string> => {
    const output = await generate(prompt);
    stages.push({ prompt, output });
    return output.text;
  };
  const demo = demonstrationParts(settings);
  const { method } = settings;
  if (method === 'no-cot' || method === 'cot' || method === 'icot') {
    const prediction = await call(singleStage(sample, settings));
    return { prediction, stages };
  }
  if (method === 'ccot') {
    if (isMultipleChoice(sample)) {
      const hint = settings.context && sample.context.trim() !== '' ? `${sample.context}\n` : '';
      const sceneGraph = strip(await call(stage('scene-graph', settings, [image, text(`${hint}${sample.question}\n${CCOT_SCENE_GRAPH}`)], false)));
      const options = sample.choices.map((choice, i) => `\n${ANSWER_LETTERS[i]}. ${choice}`).join('');
      const question = `Scene Graph: ${sceneGraph}\n\n${CCOT_ANSWER}${sample.question}${options}\nAnswer with the option's letter from the given choices directly.`;
      const prediction = await call(stage('answer', settings, [...demo, image, text(question)], true));
      return { prediction, stages };
    }
    const first = strip(await call(stage('first-answer', settings, [image, text(sample.question)], false)));
    const sceneGraph = strip(await call(stage('scene-graph', settings, [image, text(`Question: ${sample.question}\nAnswer: ${first}\n\n${CCOT_BENCH_SCENE_GRAPH}`)], false)));
    const improve = `${CCOT_BENCH_ANSWER}\n\nScene Graph: ${sceneGraph}\n\nQuestion: ${sample.question}\nOriginal Answer: ${first}\nImproved Answer: `;
    const prediction = await call(stage('answer', settings, [...demo, image, text(improve)], true));
    return { prediction, stages };
  }
  // ddcot
  const attempt = ddcotAttempt(sample, settings);
  const decomposition = await call(stage('decompose', settings, [image, text(DDCOT_DECOMPOSE + attempt)], false, DDCOT_DECOMPOSE_SYSTEM));
  const subQuestions: { question: string; answer: string; uncertain: boolean }[] = [];
  let knowledge = '';
  for (const [i, pair] of parseDecomposition(decomposition).entries()) {
    const asked = `Question: ${pair.question} Answer:`;
    const uncertain = DDCOT_UNCERTAIN.some((word) => pair.answer.includes(word));
    const answer = uncertain ? strip(await call(stage(`sub-answer-${i + 1}`, settings, [image, text(asked)], false))) : pair.answer;
    subQuestions.push({ question: pair.question, answer, uncertain });
    knowledge += `${asked}${answer}\n`;
  }
  const prediction = await call(stage('integrate', settings, [...demo, image, text(`${DDCOT_INTEGRATE}${attempt}\nPreliminary knowledge: \n${knowledge}`)], true, DDCOT_INTEGRATE_SYSTEM));
  return { prediction, stages, subQuestions };
}

/**
 * A 32-bit seed for one stage of one sample, from the run's seed: FNV-1a over
 * `seed`, `id` and `stage` (NUL-separated UTF-16 code units). Every sample and stage draws from its
 * own stream, the same whatever the order, sharding or resumption of a run.
 */
export function stageSeed(seed: number, id: string, stage: string): number {
  let hash = 0x811c9dc5;
  for (const ch of `${seed}\u0000${id}\u0000${stage}`) {
    for (let i = 0; i < ch.length; i++) {
      hash ^= ch.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
  }
  return hash >>> 0;
}
