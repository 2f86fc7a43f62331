import { readFile, stat } from 'node:fs/promises';
import { ModelConfigError, ModelFilesError, type VisionLanguageModelV2 } from '@icot/core';
import { HubRepository, isHubId, type HubOptions } from '@icot/hub';
import { onnxFileName, openModelFolder, type OnnxDtypeSetting } from './model-folder.js';
import { EMBEDDINGS_MODEL_GRAPHS, OnnxEmbeddingsModel, type OnnxModelSettings } from './embeddings-model.js';
import { EMBEDDINGS_FAMILIES } from './families.js';
import { OnnxTokenModel, TOKEN_MODEL_GRAPHS } from './token-model.js';
import { FAMILY_MODEL_TYPES } from '@icot/families';

/** Options of {@link loadOnnxModel}. */
export interface LoadOnnxModelOptions extends OnnxModelSettings {
  /** Weight variant: fp32 (default), fp16, q8, q4, ... or one per graph. */
  readonly dtype?: OnnxDtypeSetting;
  /** How to fetch hub models (cache folder, revision, endpoint, token, local files only, progress, cancellation ...). */
  readonly hub?: HubOptions;
}

/** A model family this backend can run: its config model types and graph names. */
interface FamilyEntry {
  readonly modelTypes: readonly string[];
  readonly graphs: readonly string[];
  load(folder: Awaited<ReturnType<typeof openModelFolder>>, options: LoadOnnxModelOptions): Promise<VisionLanguageModelV2>;
}

const FAMILIES: readonly FamilyEntry[] = [
  ...EMBEDDINGS_FAMILIES.map((f) => ({
    modelTypes: f.modelTypes,
    graphs: EMBEDDINGS_MODEL_GRAPHS,
    load: (folder: Awaited<ReturnType<typeof openModelFolder>>, options: LoadOnnxModelOptions) => OnnxEmbeddingsModel.load(folder, options, f.parts),
  })),
  { modelTypes: FAMILY_MODEL_TYPES.chameleon, graphs: TOKEN_MODEL_GRAPHS, load: (folder, options) => OnnxTokenModel.load(folder, options) },
];

/** Config `model_type`s this backend runs. */
export const SUPPORTED_MODEL_TYPES: readonly string[] = FAMILIES.flatMap((f) => f.modelTypes);

function familyFor(modelType: string, where: string): FamilyEntry {
  const entry = FAMILIES.find((f) => f.modelTypes.includes(modelType));
  if (!entry)
    throw new ModelConfigError(`${where} is a '${modelType}' model, which the ONNX backend does not run (it runs ${SUPPORTED_MODEL_TYPES.join(', ')}).`, {
      hint: 'Use a model of a supported family, e.g. onnx-community/Qwen2-VL-2B-Instruct.',
    });
  return entry;
}

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
  const { files } = await repo.resolve();
  const has = new Set(files);
  if (!has.has('config.json'))
    throw new ModelFilesError(`${repoId} has no config.json${(await repo.resolve()).fromCache ? ' in the hub cache' : ''}.`, {
      missing: ['config.json'],
      hint: 'Use an onnx-community style repository (config.json, tokenizer.json, onnx/*.onnx).',
    });
  const configPath = await repo.fetchFile('config.json');
  const config = JSON.parse(await readFile(configPath, 'utf8')) as { model_type?: string };
  const family = familyFor(String(config.model_type), repoId);
  const wanted = ['generation_config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja', 'chat_template.json'].filter((f) => has.has(f));
  for (const graph of family.graphs) {
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
 * or a Hugging Face hub id (downloaded once into the hub cache, see {@link downloadOnnxModel}).
 * The family is picked from `config.json`'s `model_type`.
 */
export async function loadOnnxModel(source: string, options: LoadOnnxModelOptions = {}): Promise<VisionLanguageModelV2> {
  let folderPath = source;
  if (!(await isDirectory(source))) {
    if (!isHubId(source))
      throw new ModelFilesError(`The model folder ${source} does not exist.`, {
        hint: 'Pass a local folder in the onnx-community layout or a hub id such as onnx-community/Qwen2-VL-2B-Instruct.',
      });
    folderPath = await downloadOnnxModel(source, options);
  }
  let family: FamilyEntry | undefined;
  const folder = await openModelFolder(
    folderPath,
    (config) => (family = familyFor(String(config['model_type']), folderPath)).graphs,
    options.dtype,
  );
  return family!.load(folder, options);
}
