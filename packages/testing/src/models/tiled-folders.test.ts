import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { createRandom } from '@icot/core';
import { float16ToFloat32, float32ToFloat16 } from '@icot/onnx-proto';
import { normal } from './graph-builder.js';
import { writeTinyQwen25Vl } from './qwen25vl-folder.js';
import { writeTinySmolVlm } from './smolvlm-folder.js';
import { WEIGHT_DTYPE_SUFFIX, halfActivations, type WeightDtype } from './weights.js';

const root = await mkdtemp(join(tmpdir(), 'icot-tiled-'));
afterAll(() => rm(root, { recursive: true, force: true }));
let folders = 0;
const folder = (): string => join(root, `m${folders++}`);

async function session(dir: string, graph: string, dtype: WeightDtype = 'fp32'): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(join(dir, 'onnx', `${graph}${WEIGHT_DTYPE_SUFFIX[dtype]}.onnx`));
}
const floats = (data: Float32Array, dims: number[], dtype: WeightDtype = 'fp32'): ort.Tensor =>
  halfActivations(dtype) ? new ort.Tensor('float16', float32ToFloat16(data), dims) : new ort.Tensor('float32', data, dims);
const int64 = (values: number[], dims: number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);
const asFloat32 = (t: ort.Tensor): Float32Array => (t.type === 'float16' ? float16ToFloat32(t.data as Uint16Array) : (t.data as Float32Array));

/** Indices of the rows (of `width` values) where `a` and `b` differ at all. */
function changedRows(a: Float32Array, b: Float32Array, width: number): number[] {
  const rows: number[] = [];
  for (let r = 0; r < a.length / width; r++) {
    for (let i = r * width; i < (r + 1) * width; i++)
      if (a[i] !== b[i]) {
        rows.push(r);
        break;
      }
  }
  return rows;
}

describe('writeTinyQwen25Vl: vision encoder with image_grid_thw and window attention', () => {
  const hidden = 32;
  /** Merged-token windows of one image by definition: sort by (window row, window column, row, column); 4 x 4 windows. */
  function windowOrder(rows: number, cols: number, side = 4): number[] {
    const key = (t: number): number => {
      const [r, c] = [Math.floor(t / cols), t % cols];
      return ((Math.floor(r / side) * 100 + Math.floor(c / side)) * 100 + r) * 100 + c;
    };
    return Array.from({ length: rows * cols }, (_, t) => t).sort((a, b) => key(a) - key(b));
  }
  const sameWindow = (a: number, b: number, cols: number): boolean =>
    Math.floor(Math.floor(a / cols) / 4) === Math.floor(Math.floor(b / cols) / 4) && Math.floor((a % cols) / 4) === Math.floor((b % cols) / 4);

  it('reorders merged tokens into windows as get_window_index does, attends within a window, and returns raster order', async () => {
    const dir = folder();
    await writeTinyQwen25Vl(dir, { hidden, visionBlocks: ['window'], exposeWindowOrder: true, seed: 3 });
    const vision = await session(dir, 'vision_encoder');
    expect(vision.inputNames).toEqual(['pixel_values', 'image_grid_thw']);
    // One 168 x 280 image: 12 x 20 patches, 6 x 10 merged tokens, windows 4 x 4 with partial ones at the edges.
    const pixels = normal(createRandom(5), 240 * 1176, 1);
    const run = async (data: Float32Array): Promise<ort.InferenceSession.OnnxValueMapType> =>
      vision.run({ pixel_values: floats(data, [240, 1176]), image_grid_thw: int64([1, 12, 20], [1, 3]) });
    const base = await run(pixels);
    expect(Array.from(base['debug.window_order']!.data as BigInt64Array, Number)).toEqual(windowOrder(6, 10));
    expect(base['image_features']!.dims).toEqual([60, hidden]);
    for (const token of [0, 9, 27, 59]) {
      const changed = pixels.slice();
      for (let i = token * 4 * 1176; i < (token + 1) * 4 * 1176; i++) changed[i] = -changed[i]!; // the merged token's 4 patches
      const rows = changedRows(base['image_features']!.data as Float32Array, (await run(changed))['image_features']!.data as Float32Array, hidden);
      expect(rows).toEqual(Array.from({ length: 60 }, (_, t) => t).filter((t) => sameWindow(t, token, 10)));
    }
  });

  it('keeps images apart: windows and full-attention blocks never cross an image boundary', async () => {
    const dir = folder();
    await writeTinyQwen25Vl(dir, { hidden, exposeWindowOrder: true, seed: 4 }); // blocks: window, full
    const vision = await session(dir, 'vision_encoder');
    const pixels = normal(createRandom(6), 88 * 1176, 1); // images of 8 x 8 and 4 x 6 patches: 16 + 6 merged tokens
    const grids = int64([1, 8, 8, 1, 4, 6], [2, 3]);
    const base = await vision.run({ pixel_values: floats(pixels, [88, 1176]), image_grid_thw: grids });
    expect(Array.from(base['debug.window_order']!.data as BigInt64Array, Number)).toEqual([...windowOrder(4, 4), ...windowOrder(2, 3).map((t) => t + 16)]);
    const changed = pixels.slice();
    for (let i = 0; i < 4 * 1176; i++) changed[i] = 0; // token 0 of image 1
    const after = await vision.run({ pixel_values: floats(changed, [88, 1176]), image_grid_thw: grids });
    expect(changedRows(base['image_features']!.data as Float32Array, after['image_features']!.data as Float32Array, hidden)).toEqual(Array.from({ length: 16 }, (_, t) => t));
  });

  it('writes a qwen2_5_vl config with text_config and the Qwen2.5-VL vision fields', async () => {
    const dir = folder();
    const info = await writeTinyQwen25Vl(dir, { windowSize: 56 });
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    expect(config['model_type']).toBe('qwen2_5_vl');
    expect(config['text_config']).toMatchObject({ model_type: 'qwen2_5_vl_text', hidden_size: 64, rope_scaling: { type: 'mrope', mrope_section: [2, 3, 3] } });
    expect(config['vision_config']).toMatchObject({ window_size: 56, fullatt_block_indexes: [1], tokens_per_second: 2, spatial_merge_size: 2, out_hidden_size: 64 });
    expect(config['image_token_id']).toBe(info.specialIds['<|image_pad|>']);
    const pre = JSON.parse(await readFile(join(dir, 'preprocessor_config.json'), 'utf8')) as Record<string, unknown>;
    expect(pre).toMatchObject({ image_processor_type: 'Qwen2VLImageProcessor', processor_class: 'Qwen2_5_VLProcessor' });
  });
});

describe('writeTinySmolVlm: vision encoder with pixel_attention_mask and pixel shuffle', () => {
  const hidden = 64;
  const tile = 64;
  const frameSize = 3 * tile * tile;

  it('turns each 16 x 16 pixel block of a frame into one token, in raster order, frames in order', async () => {
    const dir = folder();
    await writeTinySmolVlm(dir, { seed: 8 });
    const vision = await session(dir, 'vision_encoder');
    expect(vision.inputNames).toEqual(['pixel_values', 'pixel_attention_mask']);
    const pixels = normal(createRandom(9), 5 * frameSize, 1); // 2 x 2 tiles + global
    const mask = new ort.Tensor('bool', new Uint8Array(5 * tile * tile).fill(1), [1, 5, tile, tile]);
    const run = async (data: Float32Array, m = mask): Promise<Float32Array> =>
      (await vision.run({ pixel_values: floats(data, [1, 5, 3, tile, tile]), pixel_attention_mask: m }))['image_features']!.data as Float32Array;
    const base = await run(pixels);
    expect(base.length).toBe(5 * 16 * hidden);
    for (const [frame, y, x] of [[0, 0, 0], [2, 40, 10], [4, 63, 63], [1, 17, 50]] as const) {
      const changed = pixels.slice();
      changed[frame * frameSize + 2 * tile * tile + y * tile + x]! += 1; // blue channel of one pixel
      expect(changedRows(base, await run(changed), hidden)).toEqual([frame * 16 + Math.floor(y / 16) * 4 + Math.floor(x / 16)]);
    }
    // Masked pixels are ignored: a padded patch reads as zeros, a frame with no real pixel is dropped.
    const partial = new Uint8Array(5 * tile * tile).fill(1);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) partial[y * tile + x] = 0; // patch (0, 0) of frame 0
    const zeroed = pixels.slice();
    for (let c = 0; c < 3; c++) for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) zeroed[c * tile * tile + y * tile + x] = 0;
    expect(changedRows(await run(zeroed), await run(pixels, new ort.Tensor('bool', partial, [1, 5, tile, tile])), hidden)).toEqual([]);
    const withoutFrame3 = new Uint8Array(5 * tile * tile).fill(1).fill(0, 3 * tile * tile, 4 * tile * tile);
    const dropped = await vision.run({ pixel_values: floats(pixels, [1, 5, 3, tile, tile]), pixel_attention_mask: new ort.Tensor('bool', withoutFrame3, [1, 5, tile, tile]) });
    expect(dropped['image_features']!.dims).toEqual([4, 16, hidden]);
    expect(Array.from(dropped['image_features']!.data as Float32Array)).toEqual(Array.from(base.subarray(0, 3 * 16 * hidden)).concat(Array.from(base.subarray(4 * 16 * hidden))));
  });

  it('writes SmolVLM configs, processor settings and tokenizer specials that agree with each other', async () => {
    const dir = folder();
    const info = await writeTinySmolVlm(dir);
    const read = async (name: string): Promise<Record<string, unknown>> => JSON.parse(await readFile(join(dir, name), 'utf8')) as Record<string, unknown>;
    const config = await read('config.json');
    expect(config).toMatchObject({ model_type: 'idefics3', image_token_id: info.specialIds['<image>'], scale_factor: 2, vision_config: { image_size: 64, patch_size: 8 }, text_config: { model_type: 'llama' } });
    expect(await read('processor_config.json')).toEqual({ image_seq_len: 16, processor_class: 'Idefics3Processor' });
    expect(await read('preprocessor_config.json')).toMatchObject({ size: { longest_edge: 128 }, max_image_size: { longest_edge: 64 }, resample: 1, do_image_splitting: true });
    for (const token of ['<fake_token_around_image>', '<image>', '<global-img>', '<end_of_utterance>', '<row_1_col_1>', '<row_6_col_6>']) expect(info.specialIds[token]).toBeTypeOf('number');
    expect(info.promptText).toBe(`<|im_start|>User:<image>${info.promptText.slice('<|im_start|>User:<image>'.length)}`);
    expect((await read('config.json'))['model_type']).toBe('idefics3');
    const smolvlm = folder();
    await writeTinySmolVlm(smolvlm, { modelType: 'smolvlm', tileSize: 32, patchSize: 4, scaleFactor: 4 });
    expect(JSON.parse(await readFile(join(smolvlm, 'processor_config.json'), 'utf8'))).toEqual({ image_seq_len: 4, processor_class: 'SmolVLMProcessor' });
  });
});

describe('every weight variant of both builders loads and runs on onnxruntime-node', () => {
  for (const dtype of ['fp32', 'fp16', 'q4', 'q4f16'] as const)
    it(dtype, async () => {
      const smol = folder();
      const qwen = folder();
      const smolInfo = await writeTinySmolVlm(smol, { dtype, layers: 1 });
      const qwenInfo = await writeTinyQwen25Vl(qwen, { dtype, layers: 1 });
      const smolFeatures = await (await session(smol, 'vision_encoder', dtype)).run({
        pixel_values: floats(normal(createRandom(1), 2 * 3 * 64 * 64, 1), [1, 2, 3, 64, 64], dtype),
        pixel_attention_mask: new ort.Tensor('bool', new Uint8Array(2 * 64 * 64).fill(1), [1, 2, 64, 64]),
      });
      expect(smolFeatures['image_features']!.dims).toEqual([2, 16, 64]);
      const qwenFeatures = await (await session(qwen, 'vision_encoder', dtype)).run({
        pixel_values: floats(normal(createRandom(2), 64 * 1176, 1), [64, 1176], dtype),
        image_grid_thw: int64([1, 8, 8], [1, 3]),
      });
      expect(qwenFeatures['image_features']!.dims).toEqual([16, 64]);
      for (const [dir, info, axes] of [[smol, smolInfo, 1], [qwen, qwenInfo, 3]] as const) {
        const decoder = await session(dir, 'decoder_model_merged', dtype);
        const { kvHeads, heads, hidden } = info.decoder;
        const past = halfActivations(dtype) ? new ort.Tensor('float16', new Uint16Array(0), [1, kvHeads, 0, hidden / heads]) : new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, hidden / heads]);
        const out = await decoder.run({
          inputs_embeds: floats(asFloat32(qwenFeatures['image_features']!).subarray(0, 4 * 64), [1, 4, 64], dtype),
          attention_mask: int64([1, 1, 1, 1], [1, 4]),
          position_ids: int64(Array.from({ length: 4 * axes }, (_, i) => i % 4), axes === 3 ? [3, 1, 4] : [1, 4]),
          'past_key_values.0.key': past,
          'past_key_values.0.value': past,
        });
        expect(out['logits']!.dims).toEqual([1, 4, info.decoder.vocab]);
        expect(asFloat32(out['logits']!).every(Number.isFinite)).toBe(true);
      }
    });
});
