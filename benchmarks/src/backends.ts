import { AutoModelForImageTextToText, AutoProcessor, RawImage } from '@huggingface/transformers';
import { createSignalTrigger, generateICoT, type PromptInput, type RgbImage, type VisionLanguageModelV1 } from '@icot/core';
import { loadOnnxModel } from '@icot/backend-onnx';
import { loadTransformersModel } from '@icot/backend-transformers';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { median, table } from './stats.js';

/** Settings of {@link compareBackends}. */
export interface BackendComparison {
  readonly label: string;
  readonly dir: string;
  readonly image: RgbImage;
  readonly question: string;
  readonly maxNewTokens: number;
  readonly rounds: number;
}

/**
 * Per-token decode time, no insertions, on one model: icot on onnxruntime-node, icot on
 * transformers.js sessions, and transformers.js's own `generate()` (greedy). For generate() the
 * per-token time is (time for N tokens - time for 1 token) / (N - 1). Rounds alternate.
 */
export async function compareBackends(settings: BackendComparison): Promise<string> {
  const onnx = await loadOnnxModel(settings.dir);
  const tjs = await loadTransformersModel(settings.dir);
  const processor = await AutoProcessor.from_pretrained(settings.dir, { local_files_only: true });
  const hf = (await AutoModelForImageTextToText.from_pretrained(settings.dir, { local_files_only: true, dtype: 'fp32', device: 'cpu' } as never)) as unknown as {
    generate(inputs: Record<string, unknown>): Promise<unknown>;
    dispose(): Promise<unknown>;
  };
  const messages = [{ role: 'user' as const, content: [{ type: 'image' as const }, { type: 'text' as const, text: settings.question }] }];
  const icotRun = async (model: VisionLanguageModelV1): Promise<number> => {
    const image = await model.encodeImage(settings.image);
    const prompt: PromptInput = { messages, images: [image] };
    const result = await generateICoT({
      model,
      prompt,
      selector: createAdsSelector(),
      decoder: createInputInsertionDecoder(),
      trigger: createSignalTrigger(),
      maxInsertions: 0,
      maxNewTokens: settings.maxNewTokens,
    });
    return result.timings.perTokenMs;
  };
  const raw = new RawImage(new Uint8ClampedArray(settings.image.data), settings.image.width, settings.image.height, 3);
  const text = (processor as unknown as { apply_chat_template(m: unknown, o: unknown): string }).apply_chat_template(
    messages.map((m) => ({ role: m.role, content: [{ type: 'image' }, { type: 'text', text: settings.question }] })),
    { add_generation_prompt: true },
  );
  const inputs = await (processor as unknown as (text: string, images: RawImage) => Promise<Record<string, unknown>>)(text, raw);
  const generate = async (tokens: number): Promise<number> => {
    const t0 = performance.now();
    await hf.generate({ ...inputs, max_new_tokens: tokens, min_new_tokens: tokens, do_sample: false });
    return performance.now() - t0;
  };
  const hfRun = async (): Promise<number> => ((await generate(settings.maxNewTokens)) - (await generate(1))) / (settings.maxNewTokens - 1);
  await icotRun(onnx);
  await icotRun(tjs);
  await hfRun();
  const samples: [string, () => Promise<number>, number[]][] = [
    ['icot, ONNX backend (onnxruntime-node)', () => icotRun(onnx), []],
    ['icot, transformers.js backend', () => icotRun(tjs), []],
    ['transformers.js generate()', hfRun, []],
  ];
  for (let r = 0; r < settings.rounds; r++)
    for (let j = 0; j < samples.length; j++) {
      const [, run, values] = samples[(r + j) % samples.length]!;
      values.push(await run());
    }
  const base = median(samples[0]![2]);
  await Promise.all([onnx.dispose(), tjs.dispose(), hf.dispose()]);
  return [
    `${settings.label}: decode ms/token with no insertions, ${settings.maxNewTokens} new tokens, median of ${settings.rounds} rotating rounds`,
    table([['', 'ms/token', 'vs ONNX backend'], ...samples.map(([name, , values]) => [name, median(values).toFixed(3), (median(values) / base).toFixed(3)])]),
  ].join('\n');
}
