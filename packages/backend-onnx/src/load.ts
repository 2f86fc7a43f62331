import { stat } from 'node:fs/promises';
import { ModelFilesError } from '@icot/core';
import { HubRepository, isHubId, type HubOptions } from '@icot/hub';
import { assembleModel, familyFor, familyGraphs, onnxFileName, supportedModelTypes, type AssembledModel, type OnnxDtypeSetting } from '@icot/model';
import { nodeFileSource } from '@icot/model/node';
import type { AttentionLayerSetting } from '@icot/onnx-decoding';
import { nodeSessionFactory, type OrtSettings } from './ort-io.js';

/** Settings of an ONNX Runtime model. */
export interface OnnxModelSettings extends OrtSettings {
  /** Decoder layers whose attention is averaged (default all). */
  readonly attentionLayers?: AttentionLayerSetting;
  /**
   * Add attention taps to the decoder (default true). Without them the graph is loaded unchanged
   * (plain decoding; selectors that need attention are refused).
   */
  readonly tapAttention?: boolean;
  /**
   * Longest run of inputs fed to a fused attention decoder (GroupQueryAttention /
   * MultiHeadAttention) in one call; longer prompts are prefilled in chunks, so reading attention
   * costs [heads, chunk, T] of memory instead of [heads, S, T] (default 512; 0 = no chunking).
   */
  readonly prefillChunkSize?: number;
}

/** Options of {@link loadOnnxModel}. */
export interface LoadOnnxModelOptions extends OnnxModelSettings {
  /** Weight variant: fp32 (default), fp16, q8, q4, ... or one per graph. */
  readonly dtype?: OnnxDtypeSetting;
  /** How to fetch hub models (cache folder, revision, endpoint, token, local files only, progress, cancellation ...). */
  readonly hub?: HubOptions;
}

/** Config `model_type`s this backend runs (every family of `@icot/model`'s registry). */
export const SUPPORTED_MODEL_TYPES: readonly string[] = supportedModelTypes();

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Download what a model needs from the hub into the hub cache (the revision resolved to a commit,
 * files already cached cost no request); returns the snapshot folder `snapshots/<commit>`.
 */
export async function downloadOnnxModel(repoId: string, options: LoadOnnxModelOptions = {}): Promise<string> {
  const repo = new HubRepository(repoId, options.hub);
  const { files, fromCache } = await repo.resolve();
  const has = new Set(files);
  if (!has.has('config.json'))
    throw new ModelFilesError(`${repoId} has no config.json${fromCache ? ' in the hub cache' : ''}.`, {
      missing: ['config.json'],
      hint: 'Use an onnx-community style repository (config.json, tokenizer.json, onnx/*.onnx).',
    });
  const configPath = await repo.fetchFile('config.json');
  const config = JSON.parse(await nodeFileSource(configPath.slice(0, -'config.json'.length)).readText('config.json')) as { model_type?: string };
  const { entry } = familyFor(String(config.model_type), repoId, 'ONNX');
  const wanted = ['generation_config.json', 'preprocessor_config.json', 'processor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja', 'chat_template.json'].filter((f) => has.has(f));
  for (const graph of familyGraphs(entry)) {
    const file = `onnx/${onnxFileName(graph, options.dtype)}`;
    if (!has.has(file)) {
      const variants = files.filter((f) => f.startsWith(`onnx/${graph}`) && f.endsWith('.onnx'));
      throw new ModelFilesError(`${repoId} has no ${file}.`, {
        missing: [file],
        hint: variants.length ? `Available variants: ${variants.join(', ')}; pick one with --dtype.` : 'This repository has no ONNX export of that graph.',
      });
    }
    wanted.push(file, ...files.filter((f) => f.startsWith(`${file}_data`)));
  }
  return repo.fetchFiles(wanted);
}

/**
 * Load a vision-language model for ONNX Runtime from a local folder in the onnx-community layout
 * or a Hugging Face hub id (downloaded once into the hub cache, see {@link downloadOnnxModel}):
 * `@icot/model`'s assembly over the folder's files and onnxruntime-node sessions. The family is
 * picked from `config.json`'s `model_type`.
 */
export async function loadOnnxModel(source: string, options: LoadOnnxModelOptions = {}): Promise<AssembledModel> {
  let folder = source;
  if (!(await isDirectory(source))) {
    try {
      if ((await stat(source)).isFile()) throw new ModelFilesError(`${source} is a file, not a model folder.`, { hint: 'Pass the folder that holds config.json and onnx/.' });
    } catch (error) {
      if (error instanceof ModelFilesError) throw error;
    }
    if (!isHubId(source))
      throw new ModelFilesError(`The model folder ${source} does not exist.`, {
        hint: 'Pass a local folder in the onnx-community layout or a hub id such as onnx-community/Qwen2-VL-2B-Instruct.',
      });
    folder = await downloadOnnxModel(source, options);
  }
  return assembleModel({
    files: nodeFileSource(folder),
    sessions: nodeSessionFactory(folder, options),
    provider: 'onnx',
    modelId: folder,
    ...(options.dtype ? { dtype: options.dtype } : {}),
    ...(options.attentionLayers ? { attentionLayers: options.attentionLayers } : {}),
    ...(options.tapAttention === false ? { tapAttention: false } : {}),
    ...(options.prefillChunkSize !== undefined ? { prefillChunkSize: options.prefillChunkSize } : {}),
    ...(process.env['ICOT_DEBUG'] === '1' ? { debug: (message: string) => void process.stderr.write(`${message}\n`) } : {}),
  });
}
