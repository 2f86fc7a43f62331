import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { createSignalTrigger, generateICoT, ModelConfigError, ModelFilesError, type RgbImage } from '@icot/core';
import { createTestImage } from '@icot/core/test';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { decodeImage } from '@icot/image';
import { createAdsSelector } from '@icot/selector-ads';
import { fixturePath, loadOracle } from '@icot/testing';
import { defaultTensorFactory, type OrtSession } from '@icot/onnx-decoding';
import { assembleModel, type AssembledModel } from './assemble.js';
import type { FileSource } from './files.js';
import type { GraphSource, SessionFactory } from './sessions.js';

/** A model's files held in memory, the way a browser holds fetched ones: no paths anywhere. */
function memoryFiles(dir: string, drop: readonly string[] = []): FileSource {
  const files = new Map<string, Uint8Array>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else files.set(relative(dir, full).split(sep).join('/'), new Uint8Array(readFileSync(full)));
    }
  };
  walk(dir);
  for (const d of drop) files.delete(d);
  const get = (path: string): Uint8Array => {
    const bytes = files.get(path);
    if (!bytes) throw new ModelFilesError(`memory://model/${path} does not exist.`, { missing: [path] });
    return bytes;
  };
  return {
    location: 'memory://model',
    describe: (path) => `memory://model/${path}`,
    exists: async (path) => files.has(path),
    readBytes: async (path) => get(path),
    readText: async (path) => new TextDecoder().decode(get(path)),
    list: async (folder) => [...files.keys()].filter((f) => f.startsWith(`${folder}/`)).map((f) => f.slice(folder.length + 1)),
  };
}

/** Sessions made from bytes only (as onnxruntime-web makes them), recording what was asked. */
function byteSessions(files: FileSource, asked: GraphSource[]): SessionFactory {
  return {
    tensors: defaultTensorFactory,
    async createSession(graph) {
      asked.push(graph);
      const bytes = graph.bytes ?? (await files.readBytes(graph.file));
      return (await ort.InferenceSession.create(bytes)) as unknown as OrtSession;
    },
  };
}

const oracle = loadOracle('tiny-qwen2-vl');
const fixtureImage = (): RgbImage => decodeImage(new Uint8Array(readFileSync(fixturePath('tiny-qwen2-vl', 'image.png'))));

describe('assembleModel from files in memory and sessions from bytes (what a browser backend does)', () => {
  let model: AssembledModel;
  const asked: GraphSource[] = [];
  beforeAll(async () => {
    const files = memoryFiles(fixturePath('tiny-qwen2-vl'));
    model = await assembleModel({ files, sessions: byteSessions(files, asked), provider: 'memory' });
  });
  afterAll(() => model?.dispose());

  it('asks for each graph of the family, the decoder as edited bytes (taps, last-position logits)', () => {
    expect(model.kind).toBe('qwen2-vl');
    expect(model.provider).toBe('memory');
    expect(model.modelId).toBe('memory://model');
    expect(asked.map((g) => [g.name, g.file, g.bytes !== undefined])).toEqual([
      ['vision_encoder', 'onnx/vision_encoder.onnx', false],
      ['embed_tokens', 'onnx/embed_tokens.onnx', false],
      ['decoder_model_merged', 'onnx/decoder_model_merged.onnx', true],
    ]);
    expect(model.capabilities).toMatchObject({ attention: true, fork: true, batchedSideRuns: true, pixels: true, tiledImages: false });
    expect(model.maxContextTokens).toBe(4096); // config.json's max_position_embeddings
  });

  it('reproduces the reference ICoT run token for token and patch for patch', async () => {
    const image = await model.encodeImage(fixtureImage());
    const result = await generateICoT({
      model,
      prompt: { text: oracle.prompt_text, images: [image] },
      selector: createAdsSelector(),
      decoder: createInputInsertionDecoder(),
      trigger: createSignalTrigger({ signal: { tokenIds: oracle.signal_token_ids }, every: oracle.every }),
      k: oracle.k,
      maxInsertions: oracle.max_insertions,
      maxNewTokens: oracle.max_new_tokens,
    });
    expect(result.tokens).toEqual(oracle.tokens);
    expect(result.insertions.map((i) => i.selected)).toEqual(oracle.events.map((e) => e.selected));
  });

  it('keeps the pixels an image was encoded from', async () => {
    const rgb = createTestImage(56, 56);
    expect((await model.encodeImage(rgb)).pixels).toBe(rgb);
  });
});

describe('assembleModel errors', () => {
  const sessions = (files: FileSource) => byteSessions(files, []);
  it('lists every missing file, with the variants that exist', async () => {
    const files = memoryFiles(fixturePath('tiny-qwen2-vl'), ['tokenizer.json']);
    const error = await assembleModel({ files, sessions: sessions(files), provider: 'memory', dtype: 'q4' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFilesError);
    expect((error as ModelFilesError).missing).toEqual(['tokenizer.json', 'onnx/vision_encoder_q4.onnx', 'onnx/embed_tokens_q4.onnx', 'onnx/decoder_model_merged_q4.onnx']);
    expect((error as Error).message).toMatch(/has: .*decoder_model_merged\.onnx/);
  });

  it("names the backend's families when the model type is not one of them", async () => {
    const files = memoryFiles(fixturePath('tiny-chameleon'));
    const error = await assembleModel({ files, sessions: sessions(files), provider: 'embeddings-only', accept: (e) => e.decoderInput === 'embeddings' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelConfigError);
    expect((error as Error).message).toMatch(/'chameleon' model, which the embeddings-only backend does not run \(it runs qwen2_vl, qwen2_5_vl, llava, idefics3, smolvlm\)/);
  });
});
