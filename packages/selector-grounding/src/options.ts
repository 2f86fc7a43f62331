import { OptionError } from '@icot/core';
import { parseDtype } from '@icot/model';

/** Which grounder turns the step's text into boxes. */
export const GROUNDERS = ['vlm', 'detector'] as const;
/** What text of the step is grounded. */
export const GROUNDING_TEXTS = ['step', 'noun-phrases'] as const;
/** How boxes become patches. */
export const PATCH_RULES = ['overlap', 'covered'] as const;
/** The box form the VLM grounder asks for. */
export const BOX_FORMS = ['auto', 'qwen2-vl', 'qwen2.5-vl', 'plain'] as const;
/** How the VLM grounder decodes its answer. */
export const ANSWER_DECODINGS = ['constrained', 'free'] as const;

/**
 * Options of the grounding selector ({@link createGroundingSelector}): plain JSON, every field
 * optional except `detector` when `grounder` is `detector`.
 */
export interface GroundingSelectorOptions {
  /**
   * `vlm` (default): the model itself, asked for a box in a side run on a fork of the decoding
   * session (the main cache is untouched). `detector`: an open-vocabulary detector (OWL-ViT, OWLv2,
   * Grounding DINO) through transformers.js's `zero-shot-object-detection` pipeline.
   */
  readonly grounder?: (typeof GROUNDERS)[number];
  /** Ground the whole step (`step`, default) or each of its noun phrases (`noun-phrases`, a simple heuristic). */
  readonly text?: (typeof GROUNDING_TEXTS)[number];
  /** Most noun phrases grounded per step, in order of appearance (default 3). */
  readonly maxPhrases?: number;
  /** Most characters of the step grounded: its end, cut at a word boundary (default 200). */
  readonly maxTextChars?: number;
  /**
   * `overlap` (default): the k patches with the largest overlap fraction with a box, ties (also
   * patches no box touches) by attention. `covered`: the patches a box covers by at least
   * `minCoverage`, the k most attended when there are more (possibly fewer than k).
   */
  readonly patches?: (typeof PATCH_RULES)[number];
  /** `covered`: least fraction of a patch's area inside a box (default 0.5, in (0, 1]). */
  readonly minCoverage?: number;
  /** Most boxes kept per grounded text (the best ones; default 1). */
  readonly maxBoxes?: number;
  /**
   * VLM grounder: the box form asked for. `auto` (default): `qwen2.5-vl` for a Qwen2.5-VL model,
   * `qwen2-vl` when the tokenizer has Qwen's box tokens, else `plain`. `qwen2-vl`:
   * `<|object_ref_start|>text<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>`, [0, 1000)
   * coordinates. `qwen2.5-vl`: JSON `{"bbox_2d": [x1, y1, x2, y2]}` in pixels of the resized image.
   * `plain`: `(x1,y1),(x2,y2)` in [0, 1000) written as ordinary text (models without box tokens).
   */
  readonly form?: (typeof BOX_FORMS)[number];
  /**
   * VLM grounder: `constrained` (default): greedy decoding restricted to the tokens the box form
   * allows at each point (digits, separators, the closing token), so the answer is always a box;
   * `free`: plain greedy decoding, parsed afterwards (an answer without a box falls back to ADS).
   */
  readonly decoding?: (typeof ANSWER_DECODINGS)[number];
  /** VLM grounder: most tokens of each side-run answer (default 32). */
  readonly maxAnswerTokens?: number;
  /** Detector grounder: the model, a local folder or a hub id (e.g. `Xenova/owlvit-base-patch32`). */
  readonly detector?: string;
  /** Detector grounder: least score of a detection (default 0.1, transformers.js's default). */
  readonly detectorThreshold?: number;
  /** Detector grounder: weight variant, `onnx/model{suffix}.onnx` in transformers.js's naming (`fp32` default, `fp16`, `q8`, `int8`, `uint8`, `q4`, `q4f16`, `bnb4`). */
  readonly detectorDtype?: string;
  /** Detector grounder: never use the network (a hub id must be in the hub cache; default false). */
  readonly offline?: boolean;
  /** Detector grounder: where hub downloads are cached (default the Hugging Face hub cache). */
  readonly cacheDir?: string;
}

/** {@link GroundingSelectorOptions} with every default filled in. */
export interface ResolvedGroundingOptions {
  readonly grounder: (typeof GROUNDERS)[number];
  readonly text: (typeof GROUNDING_TEXTS)[number];
  readonly maxPhrases: number;
  readonly maxTextChars: number;
  readonly patches: (typeof PATCH_RULES)[number];
  readonly minCoverage: number;
  readonly maxBoxes: number;
  readonly form: (typeof BOX_FORMS)[number];
  readonly decoding: (typeof ANSWER_DECODINGS)[number];
  readonly maxAnswerTokens: number;
  readonly detector: string | undefined;
  readonly detectorThreshold: number;
  readonly detectorDtype: string;
  readonly offline: boolean;
  readonly cacheDir: string | undefined;
}

/** The defaults of {@link GroundingSelectorOptions}. */
export const GROUNDING_DEFAULTS = {
  grounder: 'vlm',
  text: 'step',
  maxPhrases: 3,
  maxTextChars: 200,
  patches: 'overlap',
  minCoverage: 0.5,
  maxBoxes: 1,
  form: 'auto',
  decoding: 'constrained',
  maxAnswerTokens: 32,
  detectorThreshold: 0.1,
  detectorDtype: 'fp32',
  offline: false,
} as const satisfies Partial<ResolvedGroundingOptions>;

const KEYS: readonly (keyof GroundingSelectorOptions)[] = [
  'grounder',
  'text',
  'maxPhrases',
  'maxTextChars',
  'patches',
  'minCoverage',
  'maxBoxes',
  'form',
  'decoding',
  'maxAnswerTokens',
  'detector',
  'detectorThreshold',
  'detectorDtype',
  'offline',
  'cacheDir',
];

function oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value))
    throw new OptionError(`Grounding option ${key} is ${JSON.stringify(value)}; it must be one of ${allowed.join(', ')}.`, { hint: `Use e.g. ${key}: '${fallback}'.` });
  return value as T;
}

function integer(key: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new OptionError(`Grounding option ${key} is ${JSON.stringify(value)}; it must be an integer from ${min} to ${max}.`, { hint: `Use e.g. ${key}: ${fallback}.` });
  return value;
}

function fraction(key: string, value: unknown, fallback: number, includeZero: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value > 1 || (includeZero ? value < 0 : value <= 0))
    throw new OptionError(`Grounding option ${key} is ${JSON.stringify(value)}; it must be a number in ${includeZero ? '[0, 1]' : '(0, 1]'}.`, { hint: `Use e.g. ${key}: ${fallback}.` });
  return value;
}

function text(key: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new OptionError(`Grounding option ${key} is ${JSON.stringify(value)}; it must be a non-empty string.`);
  return value;
}

/**
 * Check grounding options and fill in the defaults ({@link GROUNDING_DEFAULTS}). Throws
 * {@link OptionError} naming the option for an unknown key, a value of the wrong type or range, a
 * detector option without `grounder: 'detector'`, or a detector grounder without `detector`.
 */
export function resolveGroundingOptions(options: GroundingSelectorOptions = {}): ResolvedGroundingOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new OptionError(`Grounding options must be an object, got ${JSON.stringify(options)}.`);
  const unknown = Object.keys(options).filter((key) => !(KEYS as readonly string[]).includes(key));
  if (unknown.length)
    throw new OptionError(`Unknown grounding option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}.`, { hint: `Known options: ${KEYS.join(', ')}.` });
  const o = options as Record<keyof GroundingSelectorOptions, unknown>;
  const grounder = oneOf('grounder', o.grounder, GROUNDERS, GROUNDING_DEFAULTS.grounder);
  const detector = text('detector', o.detector);
  if (grounder === 'detector' && detector === undefined)
    throw new OptionError("The detector grounder needs a model: the 'detector' option (a local folder or a hub id) is missing.", {
      hint: "Pass detector: '<folder or hub id>' (e.g. Xenova/owlvit-base-patch32), or use grounder: 'vlm'.",
    });
  if (grounder !== 'detector') {
    const detectorOnly = (['detector', 'detectorThreshold', 'detectorDtype', 'offline', 'cacheDir'] as const).filter((key) => o[key] !== undefined);
    if (detectorOnly.length)
      throw new OptionError(`Grounding option${detectorOnly.length > 1 ? 's' : ''} ${detectorOnly.join(', ')} apply to the detector grounder only, but grounder is '${grounder}'.`, {
        hint: "Add grounder: 'detector', or leave those options out.",
      });
  } else {
    const vlmOnly = (['form', 'decoding', 'maxAnswerTokens'] as const).filter((key) => o[key] !== undefined);
    if (vlmOnly.length)
      throw new OptionError(`Grounding option${vlmOnly.length > 1 ? 's' : ''} ${vlmOnly.join(', ')} apply to the VLM grounder only, but grounder is 'detector'.`, {
        hint: "Use grounder: 'vlm', or leave those options out.",
      });
  }
  if (typeof o.offline !== 'undefined' && typeof o.offline !== 'boolean') throw new OptionError(`Grounding option offline is ${JSON.stringify(o.offline)}; it must be true or false.`);
  return {
    grounder,
    text: oneOf('text', o.text, GROUNDING_TEXTS, GROUNDING_DEFAULTS.text),
    maxPhrases: integer('maxPhrases', o.maxPhrases, 1, 16, GROUNDING_DEFAULTS.maxPhrases),
    maxTextChars: integer('maxTextChars', o.maxTextChars, 1, 4000, GROUNDING_DEFAULTS.maxTextChars),
    patches: oneOf('patches', o.patches, PATCH_RULES, GROUNDING_DEFAULTS.patches),
    minCoverage: fraction('minCoverage', o.minCoverage, GROUNDING_DEFAULTS.minCoverage, false),
    maxBoxes: integer('maxBoxes', o.maxBoxes, 1, 100, GROUNDING_DEFAULTS.maxBoxes),
    form: oneOf('form', o.form, BOX_FORMS, GROUNDING_DEFAULTS.form),
    decoding: oneOf('decoding', o.decoding, ANSWER_DECODINGS, GROUNDING_DEFAULTS.decoding),
    maxAnswerTokens: integer('maxAnswerTokens', o.maxAnswerTokens, 1, 1024, GROUNDING_DEFAULTS.maxAnswerTokens),
    detector,
    detectorThreshold: fraction('detectorThreshold', o.detectorThreshold, GROUNDING_DEFAULTS.detectorThreshold, true),
    detectorDtype: parseDtype(text('detectorDtype', o.detectorDtype) ?? GROUNDING_DEFAULTS.detectorDtype),
    offline: (o.offline as boolean | undefined) ?? GROUNDING_DEFAULTS.offline,
    cacheDir: text('cacheDir', o.cacheDir),
  };
}
