import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoModelForImageTextToText, AutoProcessor, RawImage, env, type Tensor } from '@huggingface/transformers';
import type { RgbImage } from '@icot/core';
import { expandIdefics3Prompt, readIdefics3Config, readIdefics3SpecialTokens } from '@icot/families';
import { planIdefics3Image, preprocessQwen2VlImage, readIdefics3PreprocessorConfig, readQwen2VlPreprocessorConfig } from '@icot/families/preprocess';
import { readImageFile, resizeImage } from '@icot/image/node';
import { writeTinyQwen25Vl, writeTinySmolVlm } from '@icot/testing';

/**
 * transformers.js 4.3.1 loads the tiny SmolVLM and Qwen2.5-VL folders @icot/testing writes (local
 * files only), runs generate() on them, and its processors agree with @icot/families on the prompt
 * layout and token counts (its pixels differ: it resizes with sharp).
 */
const root = await mkdtemp(join(tmpdir(), 'icot-tjs-tiled-'));
afterAll(() => rm(root, { recursive: true, force: true }));
const wasRemote = env.allowRemoteModels;
beforeAll(() => void (env.allowRemoteModels = false));
afterAll(() => void (env.allowRemoteModels = wasRemote));

const INPUTS = new URL('../../image/test/goldens/inputs/', import.meta.url);
const photo = await readImageFile(new URL('photo-640x480.jpg', INPUTS).pathname);
const images: Record<string, RgbImage> = {
  '640x480 photo': photo,
  '333x500 photo': await readImageFile(new URL('photo-333x500.jpg', INPUTS).pathname),
  '61x47 JPEG': await readImageFile(new URL('jpeg-420.jpg', INPUTS).pathname),
  '640x160 strip': resizeImage(photo, 640, 160, 'bilinear'),
};
const raw = (image: RgbImage): RawImage => new RawImage(new Uint8ClampedArray(image.data), image.width, image.height, 3);
const messages = [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'Which shape is it?' }] }];
const load = async (dir: string) => ({
  processor: await AutoProcessor.from_pretrained(dir, { local_files_only: true }),
  model: await AutoModelForImageTextToText.from_pretrained(dir, { local_files_only: true, dtype: 'fp32' } as never),
});
const json = async (dir: string, name: string): Promise<Record<string, unknown>> => JSON.parse(await readFile(join(dir, name), 'utf8')) as Record<string, unknown>;
const ids = (tensor: Tensor): number[] => Array.from(tensor.data as BigInt64Array, Number);

describe('transformers.js loads writeTinySmolVlm folders and agrees on the Idefics3 prompt layout', () => {
  for (const [longestEdge, what] of [[128, 'tiles + global image'], [64, 'one frame (longest_edge = tile)']] as const)
    it(`${what}: same rows/cols, input_ids and frame count as @icot/families; generate() runs`, async () => {
      const dir = join(root, `smolvlm-${longestEdge}`);
      await writeTinySmolVlm(dir, { longestEdge, seed: 21 });
      const { processor, model } = await load(dir);
      const text = processor.apply_chat_template(messages, { add_generation_prompt: true }) as string;
      expect(text).toBe('<|im_start|>User:<image>Which shape is it?<end_of_utterance>\nAssistant:');
      const tokenizer = processor.tokenizer!;
      const special = readIdefics3SpecialTokens(
        (token) => {
          const id = tokenizer.convert_tokens_to_ids(token);
          return typeof id === 'number' ? id : undefined;
        },
        (t) => tokenizer.encode(t, { add_special_tokens: false }),
      );
      expect(special.rowCol.map((row) => row.length)).toEqual([6, 6, 6, 6, 6, 6]);
      const { imageSeqLen } = readIdefics3Config(await json(dir, 'config.json'), await json(dir, 'processor_config.json'));
      const preprocessing = readIdefics3PreprocessorConfig(await json(dir, 'preprocessor_config.json'));
      for (const [name, image] of Object.entries(images)) {
        const inputs = await processor(text, raw(image));
        const plan = planIdefics3Image(image, preprocessing);
        expect({ name, rows: inputs.rows[0][0], cols: inputs.cols[0][0] }).toEqual({ name, ...plan.grid });
        expect(inputs.pixel_values.dims).toEqual([1, plan.frameCount, 3, 64, 64]);
        expect(inputs.pixel_attention_mask.dims).toEqual([1, plan.frameCount, 64, 64]);
        const expanded = expandIdefics3Prompt(tokenizer.encode(text, { add_special_tokens: false }), [plan.grid], imageSeqLen, special);
        expect(ids(inputs.input_ids)).toEqual(expanded.ids);
        expect(expanded.imageTokenPositions[0]).toHaveLength(plan.frameCount * imageSeqLen);
      }
      const inputs = await processor(text, raw(photo));
      const output = (await model.generate({ ...inputs, max_new_tokens: 3, do_sample: false } as never)) as Tensor;
      expect(output.dims).toEqual([1, inputs.input_ids.dims[1] + 3]);
      await model.dispose();
    });
});

describe('transformers.js loads writeTinyQwen25Vl folders (image_grid_thw) and agrees on the image token count', () => {
  it('Qwen2_5_VLProcessor expands <|image_pad|> to the merged grid of the shared smart resize; generate() runs', async () => {
    const dir = join(root, 'qwen2.5-vl');
    const info = await writeTinyQwen25Vl(dir, { seed: 22 });
    const { processor, model } = await load(dir);
    const text = processor.apply_chat_template(messages, { add_generation_prompt: true }) as string;
    const preprocessing = readQwen2VlPreprocessorConfig(await json(dir, 'preprocessor_config.json'));
    for (const [name, image] of Object.entries(images)) {
      const inputs = await processor(text, raw(image));
      const { gridThw } = preprocessQwen2VlImage(image, preprocessing);
      expect({ name, grid: ids(inputs.image_grid_thw) }).toEqual({ name, grid: [...gridThw] });
      expect(ids(inputs.input_ids).filter((id) => id === info.specialIds['<|image_pad|>'])).toHaveLength((gridThw[1] * gridThw[2]) / 4);
    }
    const inputs = await processor(text, raw(photo));
    const output = (await model.generate({ ...inputs, max_new_tokens: 3, do_sample: false } as never)) as Tensor;
    expect(output.dims).toEqual([1, inputs.input_ids.dims[1] + 3]);
    await model.dispose();
  });
});
