import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { AbortedError, IcotError, JSON_SCHEMA_VERSION, OptionError, PromptError, type ICoTResult } from '@icot/core';
import { runInChildProcess, type EncodedImageInfo, type LoadedModelInfo, type RunDescription, type RunEvent, type RunOutcome } from '@icot/runner';
import { demoModel } from '@icot/demo-model';
import { ATTENTION_SHIFT_DEMO_SETTINGS } from '@icot/trigger-attention-shift';
import { PROBABILITY_GAP_DEMO_SETTINGS } from '@icot/trigger-probability-gap';
import { replaceControlCharacters } from '@icot/overlay';
import type { RunOptions, TriggerName } from './options.js';
import { checkOutputFile } from './paths.js';
import { createDownloadProgress } from './progress.js';
import { renderReport } from './report.js';
import { icotPackageVersions } from './versions.js';

/** The reader of stdout went away (`icot run | head -1`): the run ends quietly. */
export class OutputClosedError extends AbortedError {
  constructor() {
    super('The output was closed (the reader of stdout went away).');
  }
}

/** Which trigger a run uses, and why (the run header and the JSON's `trigger`). */
export interface TriggerInfo {
  /** The trigger: `signal` (the paper's: fire at every n-th signal token), `attention-shift` or `probability-gap`. */
  readonly name: TriggerName;
  /** Signal trigger: `newline` (any token whose text has a line break) or `token-ids` (exactly `tokenIds`); null for the others. */
  readonly signal: 'newline' | 'token-ids' | null;
  /** The signal token ids (null for `newline`, which matches by text, and for the other triggers). */
  readonly tokenIds: readonly number[] | null;
  /** Signal trigger: fire at every n-th signal token (null for the others). */
  readonly every: number | null;
  /** The other triggers' options as the run used them (null for the signal trigger). */
  readonly options: Readonly<Record<string, unknown>> | null;
  /** Why this trigger and these settings: the flags given, the demo model's choice, or the default. */
  readonly reason: string;
}

/** A note on a finished run that needs the user's attention. */
export interface RunWarning {
  readonly code: 'no-signal' | 'too-few-signals' | 'trigger-never-fired' | 'context-limit';
  readonly message: string;
  readonly hint: string;
}

/** Where the command writes. */
export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly signal?: AbortSignal;
  /** Whether stderr is an interactive terminal (progress lines). */
  readonly interactive: boolean;
}

function mimeOf(path: string): string {
  const ext = extname(path).toLowerCase();
  return ext === '.jpg' || ext === '.jpeg' ? 'image/jpeg' : 'image/png';
}

async function readPromptFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new PromptError(`Cannot read the prompt file ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}.`, {
      hint: 'Pass an existing text file with the chat-formatted prompt.',
    });
  }
}

/** The run `icot run` asks for, as a description for `@icot/runner` (strategies by name; `icot eval run` starts from it too). */
export function describeRun(options: RunOptions, imagePath: string, prompt: RunDescription['prompt'], signal: 'newline' | { readonly tokenIds: readonly number[] }, trigger: TriggerInfo): RunDescription {
  return {
    model: {
      source: options.model === undefined ? demoModel.dir : existsSync(options.model) ? resolve(options.model) : options.model,
      backend: options.backend,
      ...(options.dtype ? { dtype: options.dtype } : {}),
      ...(options.threads ? { threads: options.threads } : {}),
      attentionLayers: options.attentionLayers,
      ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
      offline: options.offline,
    },
    images: [imagePath, ...options.demoImages].map((path) => ({ path: resolve(path) })),
    ...(options.maxImagePixels !== undefined ? { maxImagePixels: options.maxImagePixels } : {}),
    imageAlpha: options.alpha,
    prompt,
    selector: { name: options.selector, ...(Object.keys(options.selectorOptions).length ? { options: options.selectorOptions } : {}) },
    decoder: { name: options.decoder, layout: options.patchLayout, delimiters: options.kvDelimiters },
    trigger: trigger.name === 'signal' ? { signal, every: options.every } : { name: trigger.name, options: trigger.options ?? {} },
    ...(options.insertAfterPrompt !== undefined ? { insertAfterPrompt: options.insertAfterPrompt } : {}),
    ...(options.excludeSelected !== undefined ? { excludeSelected: options.excludeSelected } : {}),
    ...(options.k !== undefined ? { k: options.k } : {}),
    maxInsertions: options.maxInsertions,
    maxNewTokens: options.maxNewTokens,
    sampling: {
      ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
      ...(options.topP !== undefined ? { topP: options.topP } : {}),
      ...(options.topK !== undefined ? { topK: options.topK } : {}),
      ...(options.repetitionPenalty !== undefined ? { repetitionPenalty: options.repetitionPenalty } : {}),
      seed: options.seed,
    },
  };
}

/**
 * `icot run`: load, encode, generate with ICoT, print. The model runs in a child process
 * (`@icot/runner`), so cancelling (`io.signal`, Ctrl-C) ends the run at once, even mid-prefill.
 * Returns the exit code (130 when cancelled).
 */
export async function runCommand(options: RunOptions, io: CommandIo): Promise<number> {
  const isDemo = options.model === undefined;
  const note = (line: string): void => {
    if (!options.quiet) io.stderr.write(`${line}\n`);
  };
  // output paths are checked before anything is loaded: a bad one must not cost a whole run
  const reportPath = options.report === undefined ? undefined : await checkOutputFile(options.report, '--report');
  const imagePath = options.image ?? (isDemo ? demoModel.image : undefined);
  if (!imagePath) throw new OptionError('--image is required with --model.', { hint: 'Pass --image <file.png|file.jpg>.' });
  let question = options.question;
  let rawPrompt: string | undefined;
  if (options.rawPromptFile !== undefined) rawPrompt = await readPromptFile(options.rawPromptFile);
  else if (question === undefined) {
    if (!isDemo) throw new OptionError('Give the question with --question, or a formatted prompt with --raw-prompt-file.');
    question = demoModel.question;
  }
  const signal = options.signal ?? (isDemo ? { tokenIds: demoModel.signalTokenIds } : 'newline');
  const trigger = describeTrigger(options, signal, isDemo);
  if (isDemo) note(`icot: ${demoModel.label}`);
  note(`icot: ${triggerLine(trigger, options.maxInsertions)}`);

  const description: RunDescription = {
    ...describeRun(options, imagePath, rawPrompt !== undefined ? { text: rawPrompt } : { question: question! }, signal, trigger),
    ...(options.json ? { record: true } : {}),
  };
  const showDownload = createDownloadProgress({ stream: io.stderr, interactive: io.interactive, quiet: options.quiet });
  let model: LoadedModelInfo | undefined;
  let query: EncodedImageInfo | undefined;
  let insertionCount = 0;
  const onEvent = (event: RunEvent): void => {
    switch (event.type) {
      case 'model-loading':
        note(`icot: loading ${event.source} ...`);
        break;
      case 'download':
        showDownload(event);
        break;
      case 'model-loaded':
        model = event;
        break;
      case 'images-encoded':
        query = event.images[0]!;
        note(
          `icot: ${model!.family} on ${model!.provider}; image ${query.width}x${query.height} -> ${query.tiles > 1 ? `${query.patches} patches in ${query.tiles} tiles` : `${query.rows}x${query.cols} patches`}`,
        );
        break;
      case 'start':
        note(`icot: prefill of ${event.promptTokens} tokens ...`);
        break;
      case 'text-delta':
        if (!options.json) io.stdout.write(replaceControlCharacters(event.text)); // model output must not drive the terminal
        break;
      case 'insertion': {
        insertionCount += 1;
        if (options.json) return;
        const ins = event.insertion;
        // rows and columns in each patch's own grid (its tile's, on a tiled image)
        const range = (values: number[]) => `${values.reduce((a, b) => Math.min(a, b))}-${values.reduce((a, b) => Math.max(a, b))}`;
        const tiles = [...new Set(ins.cells.map((c) => c.tile))];
        const where = `${query!.tiles > 1 ? `tiles ${tiles.join(',')}, ` : ''}rows ${range(ins.cells.map((c) => c.row))}, cols ${range(ins.cells.map((c) => c.col))}`;
        io.stdout.write(`\n  [insertion ${insertionCount} at step ${ins.step}: ${ins.selected.length} patches, ${where}: ${ins.selected.join(',')}]\n`);
        break;
      }
    }
  };
  let outcome;
  try {
    outcome = await runInChildProcess(description, {
      onEvent,
      onOutput: (text) => void io.stderr.write(text), // the child's own stdout/stderr (native warnings) never reach stdout
      ...(io.signal ? { signal: io.signal } : {}),
    });
  } catch (error) {
    if (!IcotError.is(error) || error.code !== 'aborted') throw error;
    if (io.signal?.reason instanceof OutputClosedError) return 0;
    if (!options.quiet) io.stderr.write('\nicot: cancelled\n');
    return 130;
  }
  const result: ICoTResult = outcome.result;
  const warnings = runWarnings(result, outcome, trigger);
  if (options.json) {
    io.stdout.write(
      `${JSON.stringify({
        schemaVersion: JSON_SCHEMA_VERSION,
        model: outcome.model.modelId,
        family: outcome.model.family,
        demo: isDemo,
        trigger,
        settings: result.settings,
        tokens: result.tokens,
        text: result.text,
        finishReason: result.finishReason,
        queryImage: result.queryImage,
        insertions: result.insertions.map((i) => ({
          step: i.step,
          token: i.token,
          selected: i.selected,
          cells: i.cells,
          boxes: i.boxes.map((b) => ({ x: round(b.x), y: round(b.y), width: round(b.width), height: round(b.height) })),
          scores: i.scores,
          attention: i.attention,
          selector: i.selector,
          ...(i.fallback ? { fallback: i.fallback } : {}),
          ...(i.variant ? { variant: i.variant } : {}),
          ...(i.regions ? { regions: i.regions } : {}),
          ...(i.groundedBoxes ? { groundedBoxes: i.groundedBoxes } : {}),
          position: i.position,
          insertedTokens: i.insertedTokens,
        })),
        usage: result.usage,
        timings: result.timings,
        warnings,
        reproduce: reproduction(description, outcome),
      })}\n`,
    );
  } else {
    io.stdout.write('\n');
    const t = result.timings;
    note(
      `icot: ${result.usage.generatedTokens} tokens (${result.finishReason}), ${result.insertions.length} insertions; prefill ${t.prefillMs.toFixed(0)} ms, ${t.perTokenMs.toFixed(2)} ms/token, total ${t.totalMs.toFixed(0)} ms`,
    );
  }
  for (const warning of warnings) note(`icot: warning: ${warning.message}\nicot: hint: ${warning.hint}`);
  if (reportPath !== undefined) {
    const bytes = new Uint8Array(await readFile(imagePath));
    const image = outcome.images[0]!;
    const html = renderReport({
      title: `ICoT - ${outcome.model.modelId}`,
      image: { bytes, mime: mimeOf(imagePath), width: image.width, height: image.height },
      prompt: rawPrompt ?? question!,
      result,
      tokenTexts: outcome.tokenTexts,
      notes: isDemo ? [demoModel.label] : [],
    });
    await writeFile(reportPath, html);
    note(`icot: report written to ${options.report}`);
  }
  return 0;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

/** Demo settings of the other triggers: the random demo model's attention and probabilities are not a real model's (see each package). */
const DEMO_TRIGGER_SETTINGS: Readonly<Record<Exclude<TriggerName, 'signal'>, Readonly<Record<string, unknown>>>> = {
  'attention-shift': ATTENTION_SHIFT_DEMO_SETTINGS,
  'probability-gap': PROBABILITY_GAP_DEMO_SETTINGS,
};

/** The trigger a run uses and why. */
export function describeTrigger(options: RunOptions, signal: 'newline' | { readonly tokenIds: readonly number[] }, isDemo: boolean): TriggerInfo {
  if (options.trigger !== 'signal') {
    const given = Object.keys(options.triggerOptions).length > 0;
    const useDemo = isDemo && !given;
    return {
      name: options.trigger,
      signal: null,
      tokenIds: null,
      every: null,
      options: useDemo ? { ...DEMO_TRIGGER_SETTINGS[options.trigger] } : options.triggerOptions,
      reason: given
        ? 'given: --trigger and --trigger-option (unset options: the paper defaults)'
        : useDemo
          ? `the demo model's documented demo settings for ${options.trigger} (its random weights are not a real model's; pass --trigger-option to change them)`
          : `given: --trigger ${options.trigger}, with the paper's defaults`,
    };
  }
  const reason =
    options.signal !== undefined
      ? signal === 'newline'
        ? 'given: --signal newline'
        : 'given: --signal-token-ids'
      : isDemo
        ? `the demo model's random weights almost never write a line break, so its signal is the token it writes most (id ${demoModel.signalTokenIds.join(', ')}); pass --signal newline for the paper's signal`
        : "default: the paper's signal, a line break (any token whose text contains one)";
  return {
    name: 'signal',
    signal: signal === 'newline' ? 'newline' : 'token-ids',
    tokenIds: signal === 'newline' ? null : [...signal.tokenIds],
    every: options.every,
    options: null,
    reason,
  };
}

function ordinal(n: number): string {
  return n === 1 ? 'every' : `every ${n}${n === 2 ? 'nd' : n === 3 ? 'rd' : 'th'}`;
}

/** `trigger: signal token ids 64, every 2nd, at most 3 insertions (why)`. */
function triggerLine(trigger: TriggerInfo, maxInsertions: number): string {
  if (maxInsertions === 0) return 'insertions off (--no-insertions / --max-insertions 0): plain decoding';
  const most = `at most ${maxInsertions} insertion${maxInsertions === 1 ? '' : 's'}`;
  if (trigger.name !== 'signal') return `trigger: ${trigger.name} ${JSON.stringify(trigger.options)}, ${most} (${trigger.reason})`;
  const what = trigger.signal === 'newline' ? 'line breaks' : `token id${trigger.tokenIds!.length > 1 ? 's' : ''} ${trigger.tokenIds!.join(', ')}`;
  return `trigger: signal = ${what}, ${ordinal(trigger.every!)} one, ${most} (${trigger.reason})`;
}

/** Why a run that could insert did not: the signal never came, or too rarely for --every. */
function runWarnings(result: ICoTResult, outcome: RunOutcome, trigger: TriggerInfo): RunWarning[] {
  const warnings: RunWarning[] = [];
  if (result.finishReason === 'context-limit') {
    const { promptTokens, generatedTokens, insertedTokens } = result.usage;
    warnings.push({
      code: 'context-limit',
      message: `stopped at the model's context limit of ${result.settings.maxContextTokens} tokens (prompt ${promptTokens} + generated ${generatedTokens} + inserted ${insertedTokens}).`,
      hint: 'Lower --max-new-tokens, --max-insertions or --k, shorten the prompt or the image, or use a model with a longer context.',
    });
  }
  if (result.insertions.some((i) => i.step >= 0) || result.settings.maxInsertions === 0) return warnings;
  if (trigger.name !== 'signal') {
    warnings.push({
      code: 'trigger-never-fired',
      message: `no insertion: the ${trigger.name} trigger did not fire in the ${result.usage.generatedTokens} generated tokens.`,
      hint: 'Loosen its settings (--trigger-option, e.g. a smaller minTokensBeforeFirst, delta or a larger threshold) or raise --max-new-tokens.',
    });
    return warnings;
  }
  const ids = trigger.tokenIds === null ? undefined : new Set(trigger.tokenIds);
  const signals = ids ? result.tokens.filter((t) => ids.has(t)).length : outcome.tokenTexts.filter((text) => text.includes('\n')).length;
  const what = ids ? `token id${ids.size > 1 ? 's' : ''} ${[...ids].join(', ')}` : 'a line break';
  if (signals === 0)
    warnings.push({
      code: 'no-signal',
      message: `no insertion: the signal (${what}) never appeared in the ${result.usage.generatedTokens} generated tokens.`,
      hint: ids
        ? 'Pick signal tokens the model writes (the tokens are in --json), or use --signal newline.'
        : 'A model that writes no line breaks needs --signal-token-ids with tokens it does write (see the tokens in --json), or more --max-new-tokens.',
    });
  else if (signals < trigger.every!)
    warnings.push({
      code: 'too-few-signals',
      message: `no insertion: the signal (${what}) appeared ${signals} time${signals === 1 ? '' : 's'}, fewer than --every ${trigger.every!}.`,
      hint: 'Lower --every (1 inserts at every signal token) or raise --max-new-tokens.',
    });
  return warnings;
}

/** What reproduces the run: the run description for @icot/runner, the package versions, and the hashes of every file read. */
function reproduction(description: RunDescription, outcome: RunOutcome): Record<string, unknown> {
  const { record: _record, ...run } = description;
  return {
    run,
    seed: description.sampling?.seed ?? 0,
    versions: { node: process.version, platform: `${process.platform}-${process.arch}`, packages: icotPackageVersions() },
    modelFolder: outcome.record?.modelFolder ?? null,
    modelFiles: outcome.record?.modelFiles ?? [],
    images: outcome.record?.images ?? [],
  };
}
