import { readFile, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import {
  createSignalTrigger,
  OptionError,
  PromptError,
  streamICoT,
  type ICoTResult,
  type PromptInput,
  type VisionLanguageModelV1,
} from '@icot/core';
import { loadOnnxModel, parseDtype } from '@icot/backend-onnx';
import { createAdsSelector } from '@icot/selector-ads';
import { createRandomSelector } from '@icot/selector-random';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { createKvInsertionDecoder } from '@icot/decoder-kv';
import { readImageFile } from '@icot/image/node';
import { demoModel } from '@icot/demo-model';
import type { RunOptions } from './options.js';
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

/** `icot run`: load, encode, generate with ICoT, print. Returns the exit code. */
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

  const imageOptions = options.maxImagePixels !== undefined ? { maxPixels: options.maxImagePixels } : {};
  const rgb = await readImageFile(imagePath, imageOptions);
  const modelSource = options.model ?? demoModel.dir;
  note(`icot: loading ${modelSource} ...`);
  let lastProgress = 0;
  const model: VisionLanguageModelV1 = options.backend === 'transformers' ? await loadWithTransformers(modelSource, options) : await loadOnnxModel(modelSource, {
    ...(options.dtype ? { dtype: parseDtype(options.dtype) } : {}),
    attentionLayers: options.attentionLayers,
    ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
    hub: {
      ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
      localFilesOnly: options.offline,
      ...(io.signal ? { signal: io.signal } : {}),
      onProgress: (p) => {
        if (p.cached || options.quiet) return;
        const now = Date.now();
        if (now - lastProgress < 500 && p.loaded !== p.total) return;
        lastProgress = now;
        const pct = p.total ? ` ${((100 * p.loaded) / p.total).toFixed(0)}%` : '';
        io.stderr.write(`icot: downloading ${p.file} ${(p.loaded / 1e6).toFixed(1)} MB${pct}\n`);
      },
    },
  });
  try {
    const image = await model.encodeImage(rgb, io.signal ? { signal: io.signal } : {});
    const demos = [];
    for (const path of options.demoImages) demos.push(await model.encodeImage(await readImageFile(path, imageOptions), io.signal ? { signal: io.signal } : {}));
    note(
      `icot: ${model.family.name} on ${model.provider}; image ${rgb.width}x${rgb.height} -> ${image.grid.rows}x${image.grid.cols} patches`,
    );
    const prompt: PromptInput =
      rawPrompt !== undefined
        ? { text: rawPrompt, images: [image, ...demos] }
        : { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: question! }] }], images: [image, ...demos] };
    const tokenTexts: string[] = [];
    let result: ICoTResult | undefined;
    const stream = streamICoT({
      model,
      prompt,
      selector: options.selector === 'random' ? createRandomSelector() : createAdsSelector(),
      decoder:
        options.decoder === 'input'
          ? createInputInsertionDecoder({ layout: options.patchLayout })
          : createKvInsertionDecoder({ mode: options.decoder === 'kv-copy' ? 'copy' : 'rebind', delimiters: options.kvDelimiters, layout: options.patchLayout }),
      trigger: createSignalTrigger({ signal, every: options.every, afterPrompt: options.insertAfterPrompt ?? model.family.defaults.insertAfterPrompt }),
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
      ...(io.signal ? { signal: io.signal } : {}),
    });
    let insertionCount = 0;
    for await (const event of stream) {
      if (event.type === 'token') tokenTexts.push(model.tokenizer.decode([event.token]));
      else if (event.type === 'text-delta' && !options.json) io.stdout.write(event.text);
      else if (event.type === 'insertion') {
        insertionCount += 1;
        if (!options.json) {
          const ins = event.insertion;
          const rows = ins.selected.map((i) => Math.floor(i / image.grid.cols));
          const cols = ins.selected.map((i) => i % image.grid.cols);
          io.stdout.write(
            `\n  [insertion ${insertionCount} at step ${ins.step}: ${ins.selected.length} patches, rows ${Math.min(...rows)}-${Math.max(...rows)}, cols ${Math.min(...cols)}-${Math.max(...cols)}: ${ins.selected.join(',')}]\n`,
          );
        }
      } else if (event.type === 'finish') result = event.result;
    }
    if (!result) throw new Error('generation ended without a result');
    if (options.json) {
      io.stdout.write(
        `${JSON.stringify({
          model: model.modelId,
          family: model.family.name,
          demo: isDemo,
          tokens: result.tokens,
          text: result.text,
          finishReason: result.finishReason,
          insertions: result.insertions.map((i) => ({
            step: i.step,
            token: i.token,
            selected: i.selected,
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
      const html = renderReport({
        title: `ICoT - ${model.modelId}`,
        image: { bytes, mime: mimeOf(imagePath), width: rgb.width, height: rgb.height },
        prompt: rawPrompt ?? question!,
        result,
        tokenTexts,
        notes: isDemo ? [demoModel.label] : [],
      });
      await writeFile(options.report, html);
      note(`icot: report written to ${options.report}`);
    }
    return 0;
  } finally {
    await model.dispose();
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

/** The transformers.js backend, imported only when asked for (it is heavy to load). */
async function loadWithTransformers(source: string, options: RunOptions): Promise<VisionLanguageModelV1> {
  const { loadTransformersModel } = await import('@icot/backend-transformers');
  return loadTransformersModel(source, {
    ...(options.dtype ? { dtype: options.dtype } : {}),
    attentionLayers: options.attentionLayers,
    localFilesOnly: options.offline,
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
  });
}
