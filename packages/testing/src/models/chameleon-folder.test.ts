import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { float16ToFloat32, float32ToFloat16, parseOnnxModel } from '@icot/onnx-proto';
import { createRandom } from '@icot/core';
import { fixturePath } from '../fixtures.js';
import { chameleonImageTokenName, writeTinyChameleon } from './chameleon-folder.js';
import { buildDecoder } from './decoder.js';
import { embedTokensGraph } from './vlm-folders.js';
import { halfActivations, WEIGHT_DTYPE_SUFFIX, WEIGHT_DTYPES, type WeightDtype } from './weights.js';

const root = await mkdtemp(join(tmpdir(), 'icot-chameleon-'));
afterAll(() => rm(root, { recursive: true, force: true }));
let folders = 0;
const folder = (): string => join(root, `m${folders++}`);

const readJson = async (dir: string, file: string): Promise<Record<string, unknown>> => JSON.parse(await readFile(join(dir, file), 'utf8')) as Record<string, unknown>;
const session = (dir: string, graph: string, dtype: WeightDtype = 'fp32'): Promise<ort.InferenceSession> =>
  ort.InferenceSession.create(join(dir, 'onnx', `${graph}${WEIGHT_DTYPE_SUFFIX[dtype]}.onnx`));
const floats = (data: Float32Array, dims: number[], dtype: WeightDtype = 'fp32'): ort.Tensor =>
  halfActivations(dtype) ? new ort.Tensor('float16', float32ToFloat16(data), dims) : new ort.Tensor('float32', data, dims);
const asFloat32 = (t: ort.Tensor): Float32Array => (t.type === 'float16' ? float16ToFloat32(t.data as Uint16Array) : (t.data as Float32Array));
const int64 = (values: readonly number[], dims: number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);
const numbers = (t: ort.Tensor): number[] => Array.from(t.data as BigInt64Array, Number);

/** Pixels as ChameleonImageProcessor gives them for values in [0, 255]: x * 0.0078 - 1. */
function randomPixels(seed: number, size: number, batch = 1): Float32Array {
  const random = createRandom(seed);
  return Float32Array.from({ length: batch * 3 * size * size }, () => Math.floor(random.next() * 256) * 0.0078 - 1);
}

describe('writeTinyChameleon: the tiny-chameleon fixture layout', () => {
  it('writes the fixture files, with the same config fields, tokens and processor settings', async () => {
    const dir = folder();
    const info = await writeTinyChameleon(dir, { seed: 3 });
    const fixture = fixturePath('tiny-chameleon');
    const [config, fixtureConfig] = await Promise.all([readJson(dir, 'config.json'), readJson(fixture, 'config.json')]);
    for (const key of Object.keys(fixtureConfig)) expect(config, key).toHaveProperty(key);
    expect(config['model_type']).toBe('chameleon');
    expect(Object.keys(config['vq_config'] as object).sort()).toEqual(Object.keys(fixtureConfig['vq_config'] as object).sort());
    expect(config['vq_config']).toMatchObject({ num_embeddings: 64, embed_dim: 16, resolution: 128, channel_multiplier: [1, 1, 2, 2] });

    // special tokens as the fixture names them, their ids in the config and the tokenizer
    const tokenizer = await readJson(dir, 'tokenizer.json');
    const added = new Map((tokenizer['added_tokens'] as { id: number; content: string; special: boolean }[]).map((t) => [t.content, t]));
    const map = config['vocabulary_map'] as Record<string, number>;
    for (const [name, key] of [['<s>', 'bos_token_id'], ['<pad>', 'pad_token_id'], ['</s>', 'eos_token_id'], ['<image>', 'image_token_id'], ['<racm3:break>', 'boi_token_id'], ['<eoss>', 'eoi_token_id']] as const) {
      expect(added.get(name)?.special, name).toBe(true);
      expect(config[key]).toBe(added.get(name)!.id);
      expect(map[name]).toBe(added.get(name)!.id);
      expect(info.specialIds[name]).toBe(added.get(name)!.id);
    }
    // one IMGIMG<code as letters>Z token per VQ code, named as in the fixture, in code order
    expect([0, 9, 10, 63].map(chameleonImageTokenName)).toEqual(['IMGIMGAZ', 'IMGIMGJZ', 'IMGIMGBAZ', 'IMGIMGGDZ']);
    const fixtureMap = fixtureConfig['vocabulary_map'] as Record<string, number>;
    const fixtureImageNames = Object.keys(fixtureMap).filter((n) => n.startsWith('IMGIMG')).sort((a, b) => fixtureMap[a]! - fixtureMap[b]!);
    const imageNames = Object.keys(map).filter((n) => n.startsWith('IMGIMG')).sort((a, b) => map[a]! - map[b]!);
    expect(imageNames).toEqual(fixtureImageNames);
    expect(imageNames.map((n) => map[n])).toEqual(info.imageTokenIds);
    expect(imageNames.every((n) => added.get(n)?.special === false)).toBe(true);
    // the vocabulary map is the whole tokenizer vocabulary, and the decoder's
    const vocab = (tokenizer['model'] as { vocab: Record<string, number> }).vocab;
    expect(Object.keys(map).length).toBe(Object.keys(vocab).length + added.size);
    expect(config['vocab_size']).toBe(Object.keys(map).length);
    expect(Object.values(map).reduce((a, b) => Math.max(a, b), 0)).toBe((config['vocab_size'] as number) - 1);

    for (const file of ['preprocessor_config.json', 'tokenizer_config.json', 'generation_config.json'])
      expect(await readJson(dir, file), file).toMatchObject(
        file === 'generation_config.json' ? { bos_token_id: info.specialIds['<s>'], eos_token_id: info.specialIds['</s>'], pad_token_id: info.specialIds['<pad>'] } : await readJson(fixture, file),
      );
    expect(await readJson(dir, 'tokenizer_config.json')).not.toHaveProperty('chat_template'); // Chameleon ships none
  });

  it('image_tokenizer.onnx: the fixture IO; each token is the code of its own patch, in raster order, among the image tokens', async () => {
    const dir = folder();
    const info = await writeTinyChameleon(dir, { seed: 4 });
    const [ours, fixture] = await Promise.all([
      readFile(join(dir, 'onnx', 'image_tokenizer.onnx')).then((b) => parseOnnxModel(new Uint8Array(b))),
      readFile(fixturePath('tiny-chameleon', 'onnx/image_tokenizer.onnx')).then((b) => parseOnnxModel(new Uint8Array(b))),
    ]);
    expect(ours.inputs.map((i) => [i.name, i.elemType, i.dims?.slice(1)])).toEqual(fixture.inputs.map((i) => [i.name, i.elemType, i.dims?.slice(1)]));
    expect(ours.outputs.map((o) => [o.name, o.elemType])).toEqual(fixture.outputs.map((o) => [o.name, o.elemType]));

    const tokenizer = await session(dir, 'image_tokenizer');
    const size = 128;
    const pixels = randomPixels(1, size, 2);
    const base = await tokenizer.run({ pixel_values: floats(pixels, [2, 3, size, size]) });
    expect(base['image_tokens']!.dims).toEqual([2, 256]);
    const tokens = numbers(base['image_tokens']!);
    const allowed = new Set(info.imageTokenIds);
    expect(tokens.every((t) => allowed.has(t))).toBe(true);
    expect(new Set(tokens).size).toBeGreaterThan(8); // random patches land on many codes
    // changing the pixels of patch (row 3, col 5) of the second image changes at most that token
    const changed = pixels.slice();
    const patch = 3 * 16 + 5;
    for (let c = 0; c < 3; c++)
      for (let y = 24; y < 32; y++) for (let x = 40; x < 48; x++) changed[size * size * 3 + (c * size + y) * size + x] = -changed[size * size * 3 + (c * size + y) * size + x]! - 0.5;
    const after = numbers((await tokenizer.run({ pixel_values: floats(changed, [2, 3, size, size]) }))['image_tokens']!);
    const differing = after.flatMap((t, i) => (t === tokens[i] ? [] : [i]));
    expect(differing).toEqual([256 + patch]);
  });

  it('decoder_model_merged.onnx: the fixture IO over input_ids; equal to the inputs_embeds decoder fed the table rows; the KV cache continues the prefill', async () => {
    const dir = folder();
    const info = await writeTinyChameleon(dir, { seed: 5 });
    const graph = parseOnnxModel(new Uint8Array(await readFile(join(dir, 'onnx', 'decoder_model_merged.onnx'))));
    const fixture = parseOnnxModel(new Uint8Array(await readFile(fixturePath('tiny-chameleon', 'onnx/decoder_model_merged.onnx'))));
    const io = (m: typeof graph): unknown[] => [...m.inputs, ...m.outputs].map((v) => [v.name, v.elemType, v.dims?.length]);
    expect(io(graph)).toEqual(io(fixture));
    const count = (m: typeof graph, op: string): number => m.nodes.filter((n) => n.opType === op).length;
    expect(count(graph, 'Softmax')).toBe(info.decoder.layers); // plain attention, one Softmax per layer
    expect(count(graph, 'LayerNormalization')).toBe(2 * info.decoder.layers); // q and k norm

    const spec = info.decoder;
    const decoder = await session(dir, 'decoder_model_merged');
    const { hidden, heads, kvHeads, layers, vocab } = spec;
    const headDim = hidden / heads;
    const ids = [info.specialIds['<s>']!, 40, 41, info.imageTokenIds[7]!, 72, 73];
    const empty = (): Record<string, ort.Tensor> =>
      Object.fromEntries(Array.from({ length: layers }, (_, l) => ['key', 'value'].map((k) => [`past_key_values.${l}.${k}`, new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim])])).flat());
    const full = await decoder.run({ input_ids: int64(ids, [1, 6]), attention_mask: int64([1, 1, 1, 1, 1, 1], [1, 6]), position_ids: int64([0, 1, 2, 3, 4, 5], [1, 6]), ...empty() });
    const logits = asFloat32(full['logits']!);
    expect(full['logits']!.dims).toEqual([1, 6, vocab]);

    // the same decoder over inputs_embeds, fed the rows of the embedding table (drawn from seed + 7, as embed_tokens.onnx)
    const embedsDir = folder();
    await mkdir(embedsDir, { recursive: true });
    await writeFile(join(embedsDir, 'decoder.onnx'), buildDecoder({ ...spec, inputIds: false }));
    await writeFile(join(embedsDir, 'embed.onnx'), embedTokensGraph(vocab, hidden, spec.seed + 7, 'fp32').build({}));
    const embed = await ort.InferenceSession.create(join(embedsDir, 'embed.onnx'));
    const embeds = (await embed.run({ input_ids: int64(ids, [1, 6]) }))['inputs_embeds']!;
    const viaEmbeds = await (await ort.InferenceSession.create(join(embedsDir, 'decoder.onnx'))).run({
      inputs_embeds: embeds,
      attention_mask: int64([1, 1, 1, 1, 1, 1], [1, 6]),
      position_ids: int64([0, 1, 2, 3, 4, 5], [1, 6]),
      ...empty(),
    });
    expect(Array.from(asFloat32(viaEmbeds['logits']!))).toEqual(Array.from(logits));

    // prefill of 5 tokens, then one step with the cache: the last row of the full run
    const prefill = await decoder.run({ input_ids: int64(ids.slice(0, 5), [1, 5]), attention_mask: int64([1, 1, 1, 1, 1], [1, 5]), position_ids: int64([0, 1, 2, 3, 4], [1, 5]), ...empty() });
    const past = Object.fromEntries(Array.from({ length: layers }, (_, l) => ['key', 'value'].map((k) => [`past_key_values.${l}.${k}`, prefill[`present.${l}.${k}`]!])).flat());
    const step = await decoder.run({ input_ids: int64([ids[5]!], [1, 1]), attention_mask: int64([1, 1, 1, 1, 1, 1], [1, 6]), position_ids: int64([5], [1, 1]), ...past });
    const last = asFloat32(step['logits']!);
    const expected = logits.subarray(5 * vocab);
    for (let i = 0; i < vocab; i++) expect(Math.abs(last[i]! - expected[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected[i]!)));
  });

  it('every weight variant runs; q/k norm off, the decoder is the plain one; the same seed gives the same folder', async () => {
    const pixels = randomPixels(2, 128);
    const results: Record<string, { tokens: number[]; logits: Float32Array }> = {};
    const dirs: Record<string, string> = {};
    for (const dtype of WEIGHT_DTYPES) {
      const dir = (dirs[dtype] = folder());
      const info = await writeTinyChameleon(dir, { seed: 6, dtype });
      const tokenizer = await session(dir, 'image_tokenizer', dtype);
      const tokens = numbers((await tokenizer.run({ pixel_values: floats(pixels, [1, 3, 128, 128], dtype) }))['image_tokens']!);
      const decoder = await session(dir, 'decoder_model_merged', dtype);
      const { layers, kvHeads, hidden, heads } = info.decoder;
      const past = Object.fromEntries(
        Array.from({ length: layers }, (_, l) => ['key', 'value'].map((k) => [`past_key_values.${l}.${k}`, floats(new Float32Array(0), [1, kvHeads, 0, hidden / heads], dtype)])).flat(),
      );
      const out = await decoder.run({ input_ids: int64(tokens.slice(0, 4), [1, 4]), attention_mask: int64([1, 1, 1, 1], [1, 4]), position_ids: int64([0, 1, 2, 3], [1, 4]), ...past });
      results[dtype] = { tokens, logits: asFloat32(out['logits']!) };
    }
    const reference = results['fp32']!;
    for (const dtype of ['fp16', 'q4', 'q4f16']) {
      const r = results[dtype]!;
      // fp16 rounds the convolution and codebook: most patches keep their code
      expect(r.tokens.filter((t, i) => t === reference.tokens[i]).length, dtype).toBeGreaterThan(200);
      expect(r.logits.length).toBe(reference.logits.length);
      expect(r.logits.every(Number.isFinite)).toBe(true);
    }
    const again = folder();
    await writeTinyChameleon(again, { seed: 6 });
    const first = await readFile(join(dirs['fp32']!, 'onnx', 'decoder_model_merged.onnx'));
    expect(Buffer.compare(await readFile(join(again, 'onnx', 'decoder_model_merged.onnx')), first)).toBe(0);
    // without inputIds and qkNorm, buildDecoder writes the graph it always wrote (no extra draws)
    const spec = { hidden: 32, layers: 1, heads: 4, kvHeads: 2, intermediate: 64, vocab: 50, ropeTheta: 10000, attention: 'softmax', seed: 9 } as const;
    expect(Buffer.compare(Buffer.from(buildDecoder(spec)), Buffer.from(buildDecoder({ ...spec, inputIds: false, qkNorm: false })))).toBe(0);
  });
});
