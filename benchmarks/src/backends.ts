import { AutoModelForImageTextToText, AutoProcessor, RawImage } from '@huggingface/transformers';
import { createSignalTrigger, generateICoT, type PromptInput, type RgbImage, type VisionLanguageModelV2 } from '@icot/core';
import { loadOnnxModel, type OnnxDtype } from '@icot/backend-onnx';
import { loadTransformersModel } from '@icot/backend-transformers';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import type { SectionResult } from './report.js';
import { median, table } from './stats.js';

/** Settings of {@link compareBackends}. */
export interface BackendComparison {
  readonly label: string;
  readonly dir: string;
  readonly image: RgbImage;
  readonly question: string;
  readonly maxNewTokens: number;
  readonly rounds: number;
  /** Weight variant of every graph (default fp32). */
  readonly dtype?: OnnxDtype;
  /** Prefix of the row names (e.g. `real-shape-`). */
  readonly rowPrefix?: string;
}

/** Median gap between consecutive generated tokens, in ms (the first token, which follows the prefill, excluded). */
function medianGap(stamps: readonly number[]): number {
  const gaps: number[] = [];
  for (let i = 1; i < stamps.length; i++) gaps.push(stamps[i]! - stamps[i - 1]!);
  return median(gaps);
}

/** icot's decode, timed as wall clock between streamed tokens (sampling + one forward pass each). */
export async function icotTokenGaps(model: VisionLanguageModelV2, image: RgbImage, question: string, maxNewTokens: number): Promise<number> {
  const encoded = await model.encodeImage(image);
  const prompt: PromptInput = { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: question }] }], images: [encoded] };
  const stamps: number[] = [];
  await generateICoT({
    model,
    prompt,
    selector: createAdsSelector(),
    decoder: createInputInsertionDecoder(),
    trigger: createSignalTrigger(),
    maxInsertions: 0,
    maxNewTokens,
    onEvent: (event) => {
      if (event.type === 'token') stamps.push(performance.now());
    },
  });
  return medianGap(stamps);
}

/** transformers.js's own greedy `generate()` on a folder, timed the same way through a streamer. */
export async function transformersGenerate(dir: string, dtype: string): Promise<{ gaps(image: RgbImage, question: string, maxNewTokens: number): Promise<number>; dispose(): Promise<unknown> }> {
  const processor = await AutoProcessor.from_pretrained(dir, { local_files_only: true });
  const hf = (await AutoModelForImageTextToText.from_pretrained(dir, { local_files_only: true, dtype, device: 'cpu' } as never)) as unknown as {
    generate(inputs: Record<string, unknown>): Promise<unknown>;
    dispose(): Promise<unknown>;
  };
  return {
    async gaps(image, question, maxNewTokens) {
      const raw = new RawImage(new Uint8ClampedArray(image.data), image.width, image.height, 3);
      const text = (processor as unknown as { apply_chat_template(m: unknown, o: unknown): string }).apply_chat_template(
        [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: question }] }],
        { add_generation_prompt: true },
      );
      const inputs = await (processor as unknown as (text: string, images: RawImage) => Promise<Record<string, unknown>>)(text, raw);
      const stamps: number[] = [];
      let prompt = true;
      // transformers.js calls put() once with the prompt, then once per generated token.
      const streamer = {
        put: () => {
          if (prompt) prompt = false;
          else stamps.push(performance.now());
        },
        end: () => undefined,
      };
      await hf.generate({ ...inputs, max_new_tokens: maxNewTokens, min_new_tokens: maxNewTokens, do_sample: false, streamer });
      return medianGap(stamps);
    },
    dispose: () => hf.dispose(),
  };
}

/**
 * Per-token decode time, no insertions, on one model: icot on onnxruntime-node, icot on
 * transformers.js sessions, and transformers.js's own `generate()` (greedy). All three are timed
 * the same way: wall clock between consecutive streamed tokens (sampling + one forward pass),
 * median over the answer. Rounds rotate the order.
 */
export async function compareBackends(settings: BackendComparison): Promise<SectionResult> {
  const dtype = settings.dtype ?? 'fp32';
  const onnx = await loadOnnxModel(settings.dir, { dtype });
  const tjs = await loadTransformersModel(settings.dir, { dtype });
  const hf = await transformersGenerate(settings.dir, dtype);
  const { image, question, maxNewTokens } = settings;
  const samples: [string, string, () => Promise<number>, number[]][] = [
    ['icot, ONNX backend (onnxruntime-node)', 'icot-onnx', () => icotTokenGaps(onnx, image, question, maxNewTokens), []],
    ['icot, transformers.js backend', 'icot-transformers', () => icotTokenGaps(tjs, image, question, maxNewTokens), []],
    ['transformers.js generate()', 'transformers-generate', () => hf.gaps(image, question, maxNewTokens), []],
  ];
  for (const [, , run] of samples) await run(); // warm-up
  for (let r = 0; r < settings.rounds; r++)
    for (let j = 0; j < samples.length; j++) {
      const [, , run, values] = samples[(r + j) % samples.length]!;
      values.push(await run());
    }
  const base = median(samples[0]![3]);
  await Promise.all([onnx.dispose(), tjs.dispose(), hf.dispose()]);
  const prefix = settings.rowPrefix ?? '';
  return {
    text: [
      `${settings.label}: decode ms/token with no insertions, ${maxNewTokens} new tokens, wall clock between streamed tokens, median of ${settings.rounds} rotating rounds`,
      table([['', 'ms/token', 'vs ONNX backend'], ...samples.map(([name, , , values]) => [name, median(values).toFixed(3), (median(values) / base).toFixed(3)])]),
    ].join('\n'),
    rows: samples.flatMap(([, id, , values]) => [
      { name: `${prefix}${id}-ms-per-token`, value: median(values), unit: 'ms' },
      ...(id === 'icot-onnx' ? [] : [{ name: `${prefix}${id}-vs-icot-onnx`, value: median(values) / base, unit: 'ratio' }]),
    ]),
  };
}
