import {
  IcotError,
  OptionError,
  throwIfAborted,
  type DecodingSessionV2,
  type EncodedImage,
  type GroundedBox,
  type SideRunContext,
  type VisionLanguageModelV2,
} from '@icot/core';
import {
  bboxListGrammar,
  canWrite,
  GRAMMAR_START,
  grammarTokens,
  isComplete,
  pointPairGrammar,
  readToken,
  type BoxGrammar,
  type GrammarState,
  type GrammarToken,
} from './box-grammar.js';
import type { Grounder, GroundingRequest, GroundingResult } from './grounder.js';
import { answeredBoxToImage, parseGroundingAnswer, qwenResizedSize, type AnsweredBox, type BoxForm } from './parse.js';

/** Settings of {@link createVlmGrounder}. */
export interface VlmGrounderSettings {
  /** The box form asked for (default `auto`; see {@link GroundingSelectorOptions.form}). */
  readonly form?: 'auto' | BoxForm;
  /** `constrained` (default) or `free` (see {@link GroundingSelectorOptions.decoding}). */
  readonly decoding?: 'constrained' | 'free';
  /** Most tokens of each answer (default 32). */
  readonly maxAnswerTokens?: number;
  /** Most boxes kept per text (default 1). */
  readonly maxBoxes?: number;
}

/** Qwen's grounding special tokens. */
export const QWEN_BOX_TOKENS = ['<|object_ref_start|>', '<|object_ref_end|>', '<|box_start|>', '<|box_end|>'] as const;

/** How one model is asked: the form, its turn markers, the grammar and the tokens of constrained decoding. */
export interface GroundingPlan {
  readonly form: BoxForm;
  /** Whether the continuation closes the assistant turn and opens new ChatML turns (`<|im_start|>` / `<|im_end|>` in the tokenizer). */
  readonly chatMl: boolean;
  /** The grammar of a constrained answer about `image` (Qwen2.5-VL's pixel coordinates depend on its size). */
  grammarFor(image: Pick<EncodedImage, 'grid'>): BoxGrammar;
  /** The tokens the constrained decoder chooses among. */
  readonly tokens: readonly GrammarToken[];
  /** Whether the tokenizer can write the grammar (digits and separators as single tokens). */
  readonly writable: boolean;
  /** Tokens that end a free answer (end of sequence, `<|box_end|>`). */
  readonly stopTokenIds: ReadonlySet<number>;
}

/** The model type of a model assembled by `@icot/model` (`description.modelType`), when it says. */
function modelTypeOf(model: VisionLanguageModelV2): string | undefined {
  const type = (model as { readonly description?: { readonly modelType?: unknown } }).description?.modelType;
  return typeof type === 'string' ? type : undefined;
}

/**
 * How `model` is asked for a box. `auto`: `qwen2.5-vl` for a model whose `description.modelType` is
 * `qwen2_5_vl` (`@icot/model`'s assemblies, both backends), `qwen2-vl` when the tokenizer has
 * {@link QWEN_BOX_TOKENS}, `plain` otherwise. Throws {@link OptionError} when `qwen2-vl` is asked
 * of a tokenizer without the box tokens.
 */
export function groundingPlan(model: VisionLanguageModelV2, requested: 'auto' | BoxForm): GroundingPlan {
  const tokenizer = model.tokenizer;
  const boxIds = QWEN_BOX_TOKENS.map((t) => tokenizer.tokenToId(t));
  const hasBoxTokens = boxIds.every((id) => id !== undefined);
  const form: BoxForm = requested !== 'auto' ? requested : modelTypeOf(model) === 'qwen2_5_vl' ? 'qwen2.5-vl' : hasBoxTokens ? 'qwen2-vl' : 'plain';
  if (form === 'qwen2-vl' && !hasBoxTokens)
    throw new OptionError(`Grounding form 'qwen2-vl' needs the tokenizer's ${QWEN_BOX_TOKENS.join(' ')} tokens, which model '${model.modelId}' does not have.`, {
      hint: "Use form: 'auto' or 'plain' (the same box written as ordinary text).",
    });
  const endId = form === 'qwen2-vl' ? boxIds[3] : undefined;
  const pointPairs = pointPairGrammar(form === 'qwen2-vl');
  const grammarFor = (image: Pick<EncodedImage, 'grid'>): BoxGrammar => {
    if (form !== 'qwen2.5-vl') return pointPairs;
    const resized = qwenResizedSize(image);
    return bboxListGrammar(resized.width, resized.height);
  };
  const tokens = grammarTokens(tokenizer, endId);
  const chatMl = tokenizer.tokenToId('<|im_start|>') !== undefined && tokenizer.tokenToId('<|im_end|>') !== undefined;
  return {
    form,
    chatMl,
    grammarFor,
    tokens,
    writable: canWrite(grammarFor({ grid: { rows: 1, cols: 1 } }), tokens),
    stopTokenIds: new Set([...model.eosTokenIds, ...(endId !== undefined ? [endId] : [])]),
  };
}

/** The question of the side run's user turn, per form (Qwen2.5-VL's wording follows its grounding cookbook: "... output its bbox coordinates in JSON format"). */
export function groundingQuestion(form: BoxForm, text: string): string {
  if (form === 'qwen2.5-vl') return `Locate "${text}" in the image, and output its bbox coordinates in JSON format.`;
  if (form === 'qwen2-vl') return `Locate "${text}" in the image.`;
  return `Locate "${text}" in the image. Answer with its bounding box as (x1,y1),(x2,y2), with coordinates from 0 to 999.`;
}

/** The start of the answer, written for the model, so it only writes coordinates. */
export function answerPrefix(form: BoxForm, text: string): string {
  if (form === 'qwen2-vl') return `<|object_ref_start|>${text}<|object_ref_end|><|box_start|>`;
  if (form === 'qwen2.5-vl') return '```json\n[\n\t{"bbox_2d": [';
  return '';
}

/**
 * The side run's continuation of the decoding state (mid-answer, right after the signal token):
 * with ChatML turn markers, the assistant turn is closed, a user turn asks to locate `text`, and an
 * assistant turn starts with {@link answerPrefix}; without them, the question and the prefix follow
 * on new lines.
 */
export function groundingContinuation(plan: Pick<GroundingPlan, 'form' | 'chatMl'>, text: string): string {
  const question = groundingQuestion(plan.form, text);
  const prefix = answerPrefix(plan.form, text);
  return plan.chatMl ? `<|im_end|>\n<|im_start|>user\n${question}<|im_end|>\n<|im_start|>assistant\n${prefix}` : `\n${question}\n${prefix}`;
}

/**
 * The boxes of an answer (`prefix` is what the prompt wrote of it). A `qwen2.5-vl` answer that closed
 * its `bbox_2d` list but not the JSON object around it (constrained answers stop at `]`) is read
 * with the object closed.
 */
export function parseAnswer(prefix: string, written: string, form: BoxForm): AnsweredBox[] {
  const parsed = parseGroundingAnswer(prefix + written, form);
  return parsed.length || form !== 'qwen2.5-vl' ? parsed : parseGroundingAnswer(`${prefix}${written}}]`, form);
}

/** What one side run wrote. */
export interface SideRunAnswer {
  /** Generated token ids. */
  readonly ids: readonly number[];
  /** Forward passes the side run made. */
  readonly passes: number;
  /** Whether a constrained answer reached the end of its grammar (free answers: always true). */
  readonly complete: boolean;
}

function argmaxOf(logits: Float32Array, ids: readonly number[]): number {
  let best = ids[0]!;
  for (const id of ids) if (logits[id]! > logits[best]! || (logits[id] === logits[best] && id < best)) best = id;
  return best;
}

function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/**
 * Greedy decoding of the answer on `fork` from `position`: `prompt` is fed first. Constrained: at
 * each point only the grammar's allowed tokens compete (argmax among them; a point with one allowed
 * token needs no forward pass: it is fed with the next one); it ends when the grammar is complete.
 * Free: plain argmax until a stop token, or (when `done` says the text so far holds a box) early.
 */
export async function decodeAnswer(
  fork: DecodingSessionV2,
  model: VisionLanguageModelV2,
  prompt: readonly number[],
  position: number,
  plan: Pick<GroundingPlan, 'tokens' | 'stopTokenIds'>,
  settings: {
    readonly decoding: 'constrained' | 'free';
    readonly maxAnswerTokens: number;
    /** Constrained decoding: the grammar of the answer. */
    readonly grammar?: BoxGrammar;
    /** Free decoding: whether the answer so far is complete (stops early). */
    readonly done?: (ids: readonly number[]) => boolean;
  },
  signal?: AbortSignal,
): Promise<SideRunAnswer> {
  const ids: number[] = [];
  let pending = [...prompt];
  let next = position;
  let passes = 0;
  const feed = async (): Promise<Float32Array> => {
    throwIfAborted(signal);
    const out = await fork.step({ segments: [{ type: 'tokens', ids: pending }], positions: model.family.textPositions(next, pending.length), signal });
    next += pending.length;
    pending = [];
    passes += 1;
    return out.logits;
  };
  if (settings.decoding === 'free') {
    let logits = await feed();
    while (ids.length < settings.maxAnswerTokens) {
      const id = argmax(logits);
      ids.push(id);
      if (plan.stopTokenIds.has(id) || settings.done?.(ids) || ids.length === settings.maxAnswerTokens) break;
      pending = [id];
      logits = await feed();
    }
    return { ids, passes, complete: true };
  }
  const grammar = settings.grammar;
  if (!grammar) throw new IcotError('internal', 'Constrained decoding needs a grammar.');
  let state: GrammarState = GRAMMAR_START;
  while (!isComplete(grammar, state)) {
    if (ids.length >= settings.maxAnswerTokens) return { ids, passes, complete: false };
    const allowed: { id: number; state: GrammarState }[] = [];
    for (const token of plan.tokens) {
      const after = readToken(grammar, state, token);
      if (after) allowed.push({ id: token.id, state: after });
    }
    if (!allowed.length) throw new IcotError('internal', `The grounding grammar is stuck at element ${state.element} (model '${model.modelId}').`);
    let choice = allowed[0]!;
    if (allowed.length > 1) {
      const logits = await feed();
      const id = argmaxOf(
        logits,
        allowed.map((a) => a.id),
      );
      choice = allowed.find((a) => a.id === id)!;
    }
    ids.push(choice.id);
    pending.push(choice.id);
    state = choice.state;
  }
  return { ids, passes, complete: true };
}

/**
 * The VLM itself as the grounder: for each text, a side run on a fork of the decoding session (the
 * main cache is never touched) continues the conversation with a request to locate the text in the
 * model's native grounding form ({@link groundingPlan}), greedy-decodes the answer (constrained to
 * the box grammar by default) and parses it into boxes in original-image pixels. One fork per
 * text, disposed when its answer is read.
 */
export class VlmGrounder implements Grounder {
  readonly name = 'vlm';
  readonly requires = { fork: true } as const;
  private readonly form: 'auto' | BoxForm;
  private readonly decoding: 'constrained' | 'free';
  private readonly maxAnswerTokens: number;
  private readonly maxBoxes: number;
  private readonly plans = new WeakMap<VisionLanguageModelV2, GroundingPlan>();

  constructor(settings: VlmGrounderSettings = {}) {
    this.form = settings.form ?? 'auto';
    this.decoding = settings.decoding ?? 'constrained';
    this.maxAnswerTokens = settings.maxAnswerTokens ?? 32;
    this.maxBoxes = settings.maxBoxes ?? 1;
  }

  /** The plan for `model` (computed once per model). */
  planFor(model: VisionLanguageModelV2): GroundingPlan {
    let plan = this.plans.get(model);
    if (!plan) this.plans.set(model, (plan = groundingPlan(model, this.form)));
    return plan;
  }

  async ground(request: GroundingRequest): Promise<GroundingResult> {
    const { texts, image, sideRuns, signal } = request;
    if (!sideRuns) throw new IcotError('internal', 'The VLM grounder needs side runs (a fork of the decoding session), but the request has none.');
    const model = sideRuns.model;
    const plan = this.planFor(model);
    const variant = `vlm: ${plan.form === 'plain' ? 'plain box text' : plan.form === 'qwen2-vl' ? 'qwen2-vl box tokens' : 'qwen2.5-vl bbox_2d JSON'}, ${this.decoding} decoding`;
    if (plan.form === 'qwen2.5-vl' && image.tiles)
      throw new OptionError("Grounding form 'qwen2.5-vl' maps boxes through a single Qwen grid, but the query image is tiled.", { hint: "Use form: 'plain' for tiled images." });
    if (this.decoding === 'constrained' && !plan.writable)
      return { boxes: [], variant, failure: `model '${model.modelId}' cannot write a box: its tokenizer has no single tokens for the digits and separators of the ${plan.form} form` };
    const boxes: GroundedBox[] = [];
    const failures: string[] = [];
    for (const text of texts) {
      const found = await this.groundOne(text, image, sideRuns, plan, signal);
      if (typeof found === 'string') failures.push(found);
      else boxes.push(...found);
    }
    return boxes.length ? { boxes, variant } : { boxes, variant, failure: failures[0] ?? 'the grounder found no box' };
  }

  /** One text: its boxes, or why there is none. */
  private async groundOne(text: string, image: EncodedImage, sideRuns: SideRunContext, plan: GroundingPlan, signal?: AbortSignal): Promise<GroundedBox[] | string> {
    const model = sideRuns.model;
    const prompt = model.tokenizer.encode(groundingContinuation(plan, text));
    const prefix = answerPrefix(plan.form, text);
    const fork = sideRuns.fork();
    let answer: SideRunAnswer;
    try {
      const room = model.maxContextTokens === undefined ? Infinity : model.maxContextTokens - fork.length;
      if (prompt.length + this.maxAnswerTokens > room) return `no room in the model's context for the side run (${prompt.length} + ${this.maxAnswerTokens} tokens)`;
      answer = await decodeAnswer(
        fork,
        model,
        prompt,
        sideRuns.position,
        plan,
        {
          decoding: this.decoding,
          maxAnswerTokens: this.maxAnswerTokens,
          grammar: plan.grammarFor(image),
          done: (ids) => parseAnswer(prefix, model.tokenizer.decode(ids), plan.form).length > 0,
        },
        signal,
      );
    } finally {
      fork.dispose();
    }
    const written = model.tokenizer.decode(answer.ids);
    if (!answer.complete) return `the answer was cut at ${this.maxAnswerTokens} tokens before its box was complete`;
    const parsed = parseAnswer(prefix, written, plan.form);
    if (!parsed.length) return `the answer held no box: ${JSON.stringify(written.slice(0, 80))}`;
    const boxes: GroundedBox[] = [];
    for (const box of parsed) {
      const mapped = answeredBoxToImage(box, plan.form, image);
      if (mapped) boxes.push({ ...mapped, text });
      if (boxes.length >= this.maxBoxes) break;
    }
    if (!boxes.length) return `the answer's box has no area in the image: ${JSON.stringify(written.slice(0, 80))}`;
    return boxes;
  }
}

/** Create the VLM grounder (see {@link VlmGrounder}). */
export function createVlmGrounder(settings: VlmGrounderSettings = {}): VlmGrounder {
  return new VlmGrounder(settings);
}
