import { parseArgs } from 'node:util';
import { OptionError } from '@icot/core';

/** Options of `icot run`, parsed and checked. */
export interface RunOptions {
  readonly model: string | undefined;
  readonly backend: 'onnx' | 'transformers';
  readonly image: string | undefined;
  readonly question: string | undefined;
  readonly rawPromptFile: string | undefined;
  readonly selector: SelectorName;
  /** Options of the selector (`--selector-option name=value`), as its package names them. */
  readonly selectorOptions: Readonly<Record<string, unknown>>;
  readonly trigger: TriggerName;
  /** Options of an attention-shift / probability-gap trigger (`--trigger-option name=value`). */
  readonly triggerOptions: Readonly<Record<string, unknown>>;
  readonly decoder: 'input' | 'kv-copy' | 'kv-rebind';
  readonly kvDelimiters: boolean;
  /** Insert right after the prompt (undefined: the model family's official behaviour). */
  readonly insertAfterPrompt: boolean | undefined;
  /** Exclude patches chosen earlier (undefined: the family's official behaviour). */
  readonly excludeSelected: boolean | undefined;
  readonly demoImages: readonly string[];
  /** Refuse images above this many pixels (undefined: @icot/image's default, Pillow's MAX_IMAGE_PIXELS). */
  readonly maxImagePixels: number | undefined;
  /** Transparent images: composite over white (default) or drop alpha. */
  readonly alpha: 'composite' | 'drop';
  readonly k: number | undefined;
  readonly signal: 'newline' | { readonly tokenIds: readonly number[] } | undefined;
  readonly every: number;
  readonly maxInsertions: number;
  readonly maxNewTokens: number;
  readonly temperature: number | undefined;
  readonly topP: number | undefined;
  readonly topK: number | undefined;
  readonly repetitionPenalty: number | undefined;
  readonly seed: number;
  readonly patchLayout: 'grid' | 'source';
  readonly dtype: string | undefined;
  readonly attentionLayers: 'all' | readonly number[] | { readonly last: number };
  readonly threads: number | undefined;
  readonly cacheDir: string | undefined;
  readonly offline: boolean;
  readonly json: boolean;
  readonly report: string | undefined;
  readonly quiet: boolean;
}

const RUN_SPEC = {
  model: { type: 'string' },
  backend: { type: 'string' },
  image: { type: 'string' },
  question: { type: 'string', short: 'q' },
  'raw-prompt-file': { type: 'string' },
  selector: { type: 'string' },
  'selector-option': { type: 'string', multiple: true },
  trigger: { type: 'string' },
  'trigger-option': { type: 'string', multiple: true },
  decoder: { type: 'string' },
  'no-kv-delimiters': { type: 'boolean' },
  'insert-after-prompt': { type: 'boolean' },
  'no-insert-after-prompt': { type: 'boolean' },
  'exclude-selected': { type: 'boolean' },
  'no-exclude-selected': { type: 'boolean' },
  'demo-image': { type: 'string', multiple: true },
  'max-image-pixels': { type: 'string' },
  alpha: { type: 'string' },
  k: { type: 'string' },
  signal: { type: 'string' },
  'signal-token-ids': { type: 'string' },
  every: { type: 'string' },
  'max-insertions': { type: 'string' },
  'no-insertions': { type: 'boolean' },
  'max-new-tokens': { type: 'string' },
  greedy: { type: 'boolean' },
  temperature: { type: 'string' },
  'top-p': { type: 'string' },
  'top-k': { type: 'string' },
  'repetition-penalty': { type: 'string' },
  seed: { type: 'string' },
  'patch-layout': { type: 'string' },
  dtype: { type: 'string' },
  'attention-layers': { type: 'string' },
  threads: { type: 'string' },
  'cache-dir': { type: 'string' },
  offline: { type: 'boolean' },
  json: { type: 'boolean' },
  report: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Help text of `icot run`. */
export const RUN_HELP = `Usage: icot run [options]

Interleaved-Modal Chain-of-Thought: the model reasons step by step; at signal tokens the image
patches its attention picks (ADS) are fed back in before the next step.

Without --model, runs the embedded demo model (tiny, random weights) on its demo image.

Input
  --model <dir|hub id>        model folder (onnx-community layout) or hub id, e.g. onnx-community/Qwen2-VL-2B-Instruct
  --image <file>              PNG or JPEG image (the query image)
  --demo-image <file>         an extra image for one-shot demonstrations, referred to in the prompt as
                              <region image=2 rows=A-B cols=C-D> (repeatable; numbered after --image)
  --question, -q <text>       question; formatted with the model's chat template
  --raw-prompt-file <file>    an already chat-formatted prompt with one image placeholder (instead of --question)
  --max-image-pixels <n>      refuse larger images before decoding (default 89478485, Pillow's MAX_IMAGE_PIXELS;
                              a guard against decompression bombs)
  --alpha composite|drop      transparent images: composite over white (default, as qwen-vl-utils does for RGBA)
                              or drop alpha (as transformers' load_image and the Qwen2-VL/CLIP processors do)
  --backend onnx|transformers run on onnxruntime-node (default) or through transformers.js
  --dtype <name>              weight variant: fp32 (default), fp16, q8, q4, q4f16, ...
  --cache-dir <dir>           hub cache for downloads (default $HF_HUB_CACHE, $HF_HOME/hub or
                              ~/.cache/huggingface/hub, shared with Python tools; see icot cache)
  --offline                   never use the network (hub ids must be cached; also HF_HUB_OFFLINE=1)

ICoT
  --selector <name>           patch selector: ads (default, attention-driven selection), random (the
                              ablation baseline; seeded by --seed), grounding (the box the step's text is
                              located at), segmentation (whole SLIC regions by attention mass) or info-gain
                              (AIM-CoT's active visual probing: regions that lower next-token entropy most)
  --selector-option <k=v>     an option of the selector, as its package names it (repeatable; values are
                              JSON or text), e.g. segmentation segments=30, info-gain rounds=2,
                              ads attention=context-enhanced, grounding text=noun-phrases
  --decoder <name>            insertion decoder: input (default; input-end insertion, the paper's),
                              kv-copy (append the patches' cached K/V unchanged, the paper's ablation)
                              or kv-rebind (the same with keys rotated to their new positions)
  --no-kv-delimiters          kv decoders: do not feed the framing tokens around the copied entries
  --k <n>                     patches per insertion (default: the model family's, 16 for Qwen2-VL)
  --trigger <name>            when to insert: signal (default; the paper's: every n-th signal token),
                              attention-shift (AIM-CoT: the image's attention mass over the last layers
                              jumps by more than delta) or probability-gap (DaP-ICoT: a sentence's mean
                              top-1 minus top-2 probability is below a threshold)
  --trigger-option <k=v>      an option of attention-shift / probability-gap (repeatable), e.g. delta=0.2,
                              threshold=0.2, minTokensBetween=8 (on the demo model their demo settings)
  --signal newline            signal = any token whose text contains a line break (default)
  --signal-token-ids <ids>    signal = these token ids, e.g. 198,271
  --every <n>                 insert at every n-th signal token (default 2, as the official code)
  --max-insertions <n>        most insertions per answer (default 3)
  --no-insertions             plain decoding (same as --max-insertions 0)
  --patch-layout grid|source  positions of inserted patches: official square grid (default) or source layout
  --insert-after-prompt       also insert right after the prompt, before any text
  --no-insert-after-prompt    (default: the model family's official behaviour; on for Chameleon)
  --exclude-selected          never select a patch twice in one answer
  --no-exclude-selected       (default: the family's official behaviour; on for Chameleon)
  --attention-layers <which>  layers averaged for ADS: all (default), last:N, or a list like 0,5,11

Decoding
  --max-new-tokens <n>        most generated tokens (default 128)
  --greedy                    greedy decoding (default)
  --temperature <t>           sample with temperature t (> 0)
  --top-p <p>                 nucleus sampling (with --temperature)
  --top-k <n>                 top-k sampling (with --temperature)
  --repetition-penalty <r>    penalise repeated tokens (1 = off)
  --seed <n>                  random seed for sampling (default 0)
  --threads <n>               onnxruntime threads per operator

Output
  --json                      print one JSON object on stdout: {tokens, text, insertions, timings, ...}
  --report <file.html>        write a self-contained HTML page with each step's patches drawn on the image
  --quiet                     no progress or banner on stderr
`;

/** Selectors `--selector` takes. */
export const SELECTOR_NAMES = ['ads', 'random', 'grounding', 'segmentation', 'info-gain'] as const;
/** A selector `--selector` takes. */
export type SelectorName = (typeof SELECTOR_NAMES)[number];
/** Triggers `--trigger` takes. */
export const TRIGGER_NAMES = ['signal', 'attention-shift', 'probability-gap'] as const;
/** A trigger `--trigger` takes. */
export type TriggerName = (typeof TRIGGER_NAMES)[number];

/**
 * `name=value` pairs of a repeatable option as an options object: the value as JSON when it
 * parses (numbers, booleans, objects, lists), else as text. A name given twice fails.
 */
export function keyValues(flag: string, pairs: readonly string[] | undefined): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? '' : pair.slice(0, eq).trim();
    if (!name) throw new OptionError(`--${flag} takes name=value, got '${pair}'.`, { hint: `E.g. --${flag} rounds=2.` });
    if (name in options) throw new OptionError(`--${flag} ${name} is given twice.`, { hint: 'Give each option once.' });
    const text = pair.slice(eq + 1).trim();
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // not JSON: the text itself (e.g. attention=context-enhanced)
    }
    options[name] = value;
  }
  return options;
}

/** A --flag / --no-flag pair: true, false, or undefined when neither is given. */
function pair(values: Record<string, unknown>, name: string): boolean | undefined {
  const on = values[name] === true;
  const off = values[`no-${name}`] === true;
  if (on && off) throw new OptionError(`--${name} and --no-${name} cannot be used together.`);
  return on ? true : off ? false : undefined;
}

function integer(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new OptionError(`--${name} must be an integer >= ${min}, got '${value}'.`);
  return n;
}

function decimal(name: string, value: string | undefined, check: (n: number) => boolean, expect: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !check(n)) throw new OptionError(`--${name} must be ${expect}, got '${value}'.`);
  return n;
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw new OptionError(`--${name} '${value}' is not supported.`, { hint: `Use one of: ${allowed.join(', ')}.` });
  return value as T;
}

/** A negative number (`-1`, `-0.5`, `-1e3`): a value, not a flag. */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * `--k -1` as `--k=-1`: node's parseArgs reads a value that starts with a dash as a missing value
 * ("argument is ambiguous"); numbers are values, so the real range check can answer.
 */
function joinNegativeValues(args: readonly string[], spec: Record<string, { readonly type: string; readonly short?: string }>): string[] {
  const takesValue = (arg: string): boolean => {
    if (arg.startsWith('--')) return spec[arg.slice(2)]?.type === 'string';
    return arg.length === 2 && Object.values(spec).some((o) => o.short === arg.slice(1) && o.type === 'string');
  };
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    if (next !== undefined && !arg.includes('=') && takesValue(arg) && NEGATIVE_NUMBER.test(next)) {
      out.push(arg.startsWith('--') ? `${arg}=${next}` : `${arg}${next}`);
      i += 1;
    } else out.push(arg);
  }
  return out;
}

/** What an empty value of each option should be instead. */
const EMPTY_VALUE_HINTS: Partial<Record<string, string>> = {
  question: 'Pass the question, e.g. -q "What is in the picture?".',
  report: 'Pass a file name, e.g. --report report.html.',
  image: 'Pass an image file, e.g. --image photo.jpg.',
  model: 'Pass a model folder or hub id, or leave --model out for the embedded demo model.',
};

/** Parse `icot run` arguments; throws {@link OptionError} for unknown flags and bad values. Returns undefined for --help. */
export function parseRunOptions(args: readonly string[]): RunOptions | undefined {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({ args: joinNegativeValues(args, RUN_SPEC), options: RUN_SPEC, strict: true, allowPositionals: false }));
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify.*$/s, '.');
    throw new OptionError(message, { hint: "Run 'icot run --help' for the list of options." });
  }
  if (values['help']) return undefined;
  for (const [name, value] of Object.entries(values)) {
    const empty = typeof value === 'string' ? value.trim() === '' : Array.isArray(value) && value.some((v) => v.trim() === '');
    if (empty)
      throw new OptionError(`--${name} needs a value, got an empty string.`, { hint: EMPTY_VALUE_HINTS[name] ?? "Run 'icot run --help' for the option's values." });
  }
  const str = (key: string): string | undefined => values[key] as string | undefined;
  if (str('question') !== undefined && str('raw-prompt-file') !== undefined)
    throw new OptionError('--question and --raw-prompt-file cannot be used together.', { hint: 'Give one of them.' });
  if (str('signal') !== undefined && str('signal-token-ids') !== undefined)
    throw new OptionError('--signal and --signal-token-ids cannot be used together.');
  let signal: RunOptions['signal'];
  if (str('signal') !== undefined) {
    if (str('signal') !== 'newline') throw new OptionError(`--signal '${str('signal')}' is not supported.`, { hint: 'Use --signal newline or --signal-token-ids 1,2,3.' });
    signal = 'newline';
  } else if (str('signal-token-ids') !== undefined) {
    const parts = str('signal-token-ids')!.split(',').map((s) => s.trim()).filter(Boolean);
    const ids = parts.map(Number);
    if (!parts.length || ids.some((n) => !Number.isInteger(n) || n < 0))
      throw new OptionError(`--signal-token-ids must be a comma-separated list of token ids, got '${str('signal-token-ids')}'.`);
    signal = { tokenIds: ids };
  }
  const trigger = oneOf('trigger', str('trigger'), TRIGGER_NAMES, 'signal');
  const triggerOptions = keyValues('trigger-option', values['trigger-option'] as string[] | undefined);
  if (trigger === 'signal' && Object.keys(triggerOptions).length)
    throw new OptionError('--trigger-option applies to --trigger attention-shift or probability-gap.', { hint: 'The signal trigger is set with --signal / --signal-token-ids and --every.' });
  if (trigger !== 'signal' && (str('signal') !== undefined || str('signal-token-ids') !== undefined || str('every') !== undefined))
    throw new OptionError(`--signal, --signal-token-ids and --every set the signal trigger, not ${trigger}.`, { hint: `Set ${trigger}'s options with --trigger-option name=value.` });
  const temperature = decimal('temperature', str('temperature'), (n) => n > 0, 'a number > 0');
  if (values['greedy'] && temperature !== undefined) throw new OptionError('--greedy and --temperature cannot be used together.');
  const topP = decimal('top-p', str('top-p'), (n) => n > 0 && n <= 1, 'in (0, 1]');
  const topK = integer('top-k', str('top-k'), 0);
  if ((topP !== undefined || topK !== undefined) && temperature === undefined)
    throw new OptionError('--top-p and --top-k only apply when sampling.', { hint: 'Add --temperature, e.g. --temperature 0.8.' });
  let maxInsertions = integer('max-insertions', str('max-insertions'), 0) ?? 3;
  if (values['no-insertions']) maxInsertions = 0;
  let attentionLayers: RunOptions['attentionLayers'] = 'all';
  const layers = str('attention-layers');
  if (layers !== undefined && layers !== 'all') {
    const last = /^last:(\d+)$/.exec(layers);
    if (last) attentionLayers = { last: Number(last[1]) };
    else {
      const list = layers.split(',').map((s) => Number(s.trim()));
      if (!list.length || list.some((n) => !Number.isInteger(n) || n < 0))
        throw new OptionError(`--attention-layers must be 'all', 'last:N' or a list like 0,5,11; got '${layers}'.`);
      attentionLayers = list;
    }
  }
  return {
    model: str('model'),
    backend: oneOf('backend', str('backend'), ['onnx', 'transformers'] as const, 'onnx'),
    image: str('image'),
    question: str('question'),
    rawPromptFile: str('raw-prompt-file'),
    selector: oneOf('selector', str('selector'), SELECTOR_NAMES, 'ads'),
    selectorOptions: keyValues('selector-option', values['selector-option'] as string[] | undefined),
    trigger,
    triggerOptions,
    decoder: oneOf('decoder', str('decoder'), ['input', 'kv-copy', 'kv-rebind'] as const, 'input'),
    kvDelimiters: values['no-kv-delimiters'] !== true,
    insertAfterPrompt: pair(values, 'insert-after-prompt'),
    excludeSelected: pair(values, 'exclude-selected'),
    demoImages: (values['demo-image'] as unknown as string[] | undefined) ?? [],
    k: integer('k', str('k'), 1),
    signal,
    every: integer('every', str('every'), 1) ?? 2,
    maxInsertions,
    maxNewTokens: integer('max-new-tokens', str('max-new-tokens'), 1) ?? 128,
    temperature,
    topP,
    topK,
    repetitionPenalty: decimal('repetition-penalty', str('repetition-penalty'), (n) => n > 0, 'a number > 0'),
    seed: integer('seed', str('seed'), 0) ?? 0,
    patchLayout: oneOf('patch-layout', str('patch-layout'), ['grid', 'source'] as const, 'grid'),
    dtype: str('dtype'),
    attentionLayers,
    threads: integer('threads', str('threads'), 1),
    maxImagePixels: integer('max-image-pixels', str('max-image-pixels'), 1),
    alpha: oneOf('alpha', str('alpha'), ['composite', 'drop'] as const, 'composite'),
    cacheDir: str('cache-dir'),
    offline: values['offline'] === true,
    json: values['json'] === true,
    report: str('report'),
    quiet: values['quiet'] === true,
  };
}
