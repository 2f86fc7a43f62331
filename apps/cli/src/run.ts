import { readFile, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { IcotError, OptionError, PromptError, type ICoTResult } from '@icot/core';
import { runInChildProcess, type EncodedImageInfo, type LoadedModelInfo, type RunDescription, type RunEvent } from '@icot/runner';
import { demoModel } from '@icot/demo-model';
import type { RunOptions } from './options.js';
import { createDownloadProgress } from './progress.js';
import { renderReport } from './report.js';

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

/** The run `icot run` asks for, as a description for `@icot/runner` (strategies by name). */
function describeRun(options: RunOptions, imagePath: string, prompt: RunDescription['prompt'], signal: 'newline' | { readonly tokenIds: readonly number[] }): RunDescription {
  return {
    model: {
      source: options.model ?? demoModel.dir,
      backend: options.backend,
      ...(options.dtype ? { dtype: options.dtype } : {}),
      ...(options.threads ? { threads: options.threads } : {}),
      attentionLayers: options.attentionLayers,
      ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
      offline: options.offline,
    },
    images: [imagePath, ...options.demoImages].map((path) => ({ path })),
    ...(options.maxImagePixels !== undefined ? { maxImagePixels: options.maxImagePixels } : {}),
    imageAlpha: options.alpha,
    prompt,
    selector: { name: options.selector },
    decoder: { name: options.decoder, layout: options.patchLayout, delimiters: options.kvDelimiters },
    trigger: { signal, every: options.every },
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
  if (isDemo) note(`icot: ${demoModel.label}`);

  const description = describeRun(options, imagePath, rawPrompt !== undefined ? { text: rawPrompt } : { question: question! }, signal);
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
        if (!options.json) io.stdout.write(event.text);
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
    if (!options.quiet) io.stderr.write('\nicot: cancelled\n');
    return 130;
  }
  const result: ICoTResult = outcome.result;
  if (options.json) {
    io.stdout.write(
      `${JSON.stringify({
        model: outcome.model.modelId,
        family: outcome.model.family,
        demo: isDemo,
        tokens: result.tokens,
        text: result.text,
        finishReason: result.finishReason,
        insertions: result.insertions.map((i) => ({
          step: i.step,
          token: i.token,
          selected: i.selected,
          cells: i.cells,
          boxes: i.boxes.map((b) => ({ x: round(b.x), y: round(b.y), width: round(b.width), height: round(b.height) })),
          scores: i.scores,
          position: i.position,
          insertedTokens: i.insertedTokens,
        })),
        usage: result.usage,
        timings: result.timings,
      })}\n`,
    );
  } else {
    io.stdout.write('\n');
    const t = result.timings;
    note(
      `icot: ${result.usage.generatedTokens} tokens (${result.finishReason}), ${result.insertions.length} insertions; prefill ${t.prefillMs.toFixed(0)} ms, ${t.perTokenMs.toFixed(2)} ms/token, total ${t.totalMs.toFixed(0)} ms`,
    );
  }
  if (options.report) {
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
    await writeFile(options.report, html);
    note(`icot: report written to ${options.report}`);
  }
  return 0;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
