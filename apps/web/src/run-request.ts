import { OptionError } from '@icot/core';
import { demoModel } from '@icot/demo-model';
import { checkRunDescription, type RunDescription } from '@icot/runner';
import { ATTENTION_SHIFT_DEMO_SETTINGS } from '@icot/trigger-attention-shift';
import { PROBABILITY_GAP_DEMO_SETTINGS } from '@icot/trigger-probability-gap';
import type { ServedModel } from './models.js';
import type { WebLimits } from './options.js';

/** The fields of `options` a run request may set: the library's `RunDescription` names. */
export const RUN_OPTION_NAMES = [
  'model',
  'selector',
  'decoder',
  'trigger',
  'k',
  'maxInsertions',
  'insertAfterPrompt',
  'excludeSelected',
  'maxNewTokens',
  'sampling',
  'imageAlpha',
  'maxImagePixels',
] as const;

/** `RunDescription` fields the server sets itself, with the reason a request cannot. */
const SERVER_FIELDS: Readonly<Record<string, string>> = {
  images: 'the image is the multipart field "image"',
  prompt: 'the question is the multipart field "question"',
  record: 'the server does not hash files for requests',
};

/**
 * Option names that would make the server read files or download models other than its own
 * (e.g. the grounding selector's `detector`): refused at any depth of selector and trigger options.
 */
const FILE_OPTION_PATTERN = /detector|model|path|dir|folder|file|cache|url|revision/i;

/** The run options without the image and the model's location: what the `accepted` event reports. */
export type ResolvedRunOptions = Omit<RunDescription, 'images' | 'model' | 'prompt' | 'record'> & { readonly model: string };

/** What a request asks for, checked and completed. */
export interface RunRequest {
  readonly model: ServedModel;
  /** The run for the child, the upload as the query image. */
  readonly description: RunDescription;
  /** The options as the server will run them (defaults filled in). */
  readonly options: ResolvedRunOptions;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function refuseFileOptions(what: string, value: unknown): void {
  if (Array.isArray(value)) {
    value.forEach((item) => refuseFileOptions(what, item));
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [key, inner] of Object.entries(value)) {
    if (FILE_OPTION_PATTERN.test(key))
      throw new OptionError(`${what} option '${key}' is not accepted by this server: options that name models or files could read outside the server's configured models.`, {
        hint: 'Run that strategy with the icot command or the library, or leave the option out.',
      });
    refuseFileOptions(what, inner);
  }
}

/** Demo settings of the other triggers (the random demo model's attention and probabilities are not a real model's). */
const DEMO_TRIGGER_SETTINGS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  'attention-shift': ATTENTION_SHIFT_DEMO_SETTINGS,
  'probability-gap': PROBABILITY_GAP_DEMO_SETTINGS,
};

/**
 * Turn the multipart fields of `POST /api/runs` into a run: `options` (parsed JSON, or undefined)
 * may set only {@link RUN_OPTION_NAMES}; `model` must name a served model (its id, or
 * `{ source: id }`); `maxNewTokens` and `maxImagePixels` stay within the server's limits. On the
 * demo model, a trigger left out (or named without options) gets the demo's settings, as `icot run`
 * gives them. Throws {@link OptionError} naming the problem (-> 400).
 */
export function resolveRunRequest(
  input: { readonly options: unknown; readonly question: string; readonly image: Uint8Array; readonly imageName: string },
  models: readonly ServedModel[],
  limits: WebLimits,
): RunRequest {
  const options = input.options ?? {};
  if (!isPlainObject(options))
    throw new OptionError('The "options" field must be a JSON object.', { hint: 'Send e.g. {"selector": {"name": "ads"}, "k": 16}, or leave the field out for the defaults.' });
  for (const key of Object.keys(options)) {
    if (SERVER_FIELDS[key]) throw new OptionError(`options.${key} cannot be set by a request: ${SERVER_FIELDS[key]}.`, { hint: `Leave ${key} out of options.` });
    if (!(RUN_OPTION_NAMES as readonly string[]).includes(key))
      throw new OptionError(`Unknown run option '${key}'.`, { hint: `The options are RunDescription fields of @icot/runner: ${RUN_OPTION_NAMES.join(', ')}.` });
  }
  const modelField = options['model'];
  const modelId = modelField === undefined ? models[0]!.id : typeof modelField === 'string' ? modelField : isPlainObject(modelField) ? modelField['source'] : undefined;
  if (isPlainObject(modelField) && Object.keys(modelField).some((key) => key !== 'source'))
    throw new OptionError('options.model can only name a served model: how it is loaded (dtype, backend, threads ...) is set when the server starts.', {
      hint: `Send "model": "${models[0]!.id}" (GET /api/config lists the models).`,
    });
  const model = models.find((m) => m.id === modelId);
  if (!model)
    throw new OptionError(`This server does not run the model ${JSON.stringify(modelId)}.`, {
      hint: `Name one of its models: ${models.map((m) => m.id).join(', ')} (GET /api/config lists them; the server's --model flags choose them).`,
    });
  if (typeof input.question !== 'string' || input.question.trim() === '')
    throw new OptionError('The question is empty.', { hint: 'Send the question as the multipart field "question".' });

  const maxNewTokens = options['maxNewTokens'] ?? Math.min(128, limits.maxNewTokens);
  if (!Number.isSafeInteger(maxNewTokens) || (maxNewTokens as number) < 1)
    throw new OptionError(`maxNewTokens must be an integer >= 1, got ${JSON.stringify(maxNewTokens)}.`, { hint: 'Use e.g. 128.' });
  if ((maxNewTokens as number) > limits.maxNewTokens)
    throw new OptionError(`maxNewTokens ${String(maxNewTokens)} is more than this server allows (${limits.maxNewTokens}).`, {
      hint: `Ask for at most ${limits.maxNewTokens}, or start the server with --max-new-tokens ${String(maxNewTokens)}.`,
    });
  const requestedPixels = options['maxImagePixels'];
  if (requestedPixels !== undefined && !(Number.isSafeInteger(requestedPixels) && (requestedPixels as number) > 0))
    throw new OptionError(`maxImagePixels must be a positive integer, got ${JSON.stringify(requestedPixels)}.`, { hint: `Leave it out for the server's limit (${limits.maxImagePixels}).` });
  const maxImagePixels = Math.min(limits.maxImagePixels, (requestedPixels as number | undefined) ?? limits.maxImagePixels);

  const selector = options['selector'];
  const trigger = options['trigger'];
  if (isPlainObject(selector)) refuseFileOptions(`The ${String(selector['name'])} selector's`, selector['options']);
  if (isPlainObject(trigger)) refuseFileOptions(`The ${String(trigger['name'] ?? 'signal')} trigger's`, trigger['options']);

  let resolvedTrigger = trigger;
  if (model.demo) {
    if (trigger === undefined) resolvedTrigger = { signal: { tokenIds: [...demoModel.signalTokenIds] }, every: 2 };
    else if (isPlainObject(trigger) && typeof trigger['name'] === 'string' && trigger['options'] === undefined && DEMO_TRIGGER_SETTINGS[trigger['name']])
      resolvedTrigger = { ...trigger, options: { ...DEMO_TRIGGER_SETTINGS[trigger['name']] } };
  }
  const { model: _model, maxImagePixels: _pixels, ...rest } = options;
  const runOptions = {
    ...rest,
    ...(resolvedTrigger !== undefined ? { trigger: resolvedTrigger } : {}),
    maxNewTokens,
    maxImagePixels,
  } as Omit<ResolvedRunOptions, 'model'>;
  const description = {
    ...runOptions,
    model: model.description,
    images: [{ bytes: input.image, name: input.imageName }],
    prompt: { question: input.question },
  } as RunDescription;
  checkRunDescription(description);
  return { model, description, options: { model: model.id, ...runOptions } };
}
