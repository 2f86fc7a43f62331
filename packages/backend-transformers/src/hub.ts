import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ModelFilesError } from '@icot/core';
import { HubRepository, isHubId, type HubOptions } from '@icot/hub';

export { isHubId };

/**
 * Where hub models come from: `@icot/hub`'s options (hub cache folder, revision, endpoint, token,
 * local files only, download progress, cancellation ...). Downloads go to the huggingface_hub
 * cache layout, shared with the ONNX backend and Python tools; transformers.js then loads the
 * snapshot folder with local files only.
 */
export type HubSettings = HubOptions;

/** Files transformers.js reads besides the graphs, fetched when the repository has them. */
const MODEL_FILES = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'processor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
  'chat_template.json',
];

/**
 * The local folder of a model: `source` itself when it is a folder; for a hub id, its snapshot
 * folder in the hub cache (`models--org--name/snapshots/<commit>`), after fetching the configs,
 * the tokenizer files and `graphFiles` (with their external weight files) that are not cached yet.
 */
export async function resolveHubFolder(source: string, graphFiles: readonly string[], settings: HubSettings = {}): Promise<string> {
  try {
    if ((await stat(source)).isDirectory()) return resolve(source);
  } catch {
    /* not a local path */
  }
  if (!isHubId(source))
    throw new ModelFilesError(`The model folder ${source} does not exist.`, {
      hint: 'Pass a local folder in the onnx-community layout or a hub id such as onnx-community/Qwen2-VL-2B-Instruct.',
    });
  const repo = new HubRepository(source, settings);
  const { files, fromCache } = await repo.resolve();
  const has = new Set(files);
  const missing = graphFiles.filter((file) => !has.has(file));
  if (missing.length) {
    const variants = files.filter((f) => f.startsWith('onnx/') && f.endsWith('.onnx'));
    throw new ModelFilesError(`${source} has no ${missing.join(', ')}${fromCache ? ' in the hub cache' : ''}.`, {
      missing,
      hint: variants.length ? `Available: ${variants.join(', ')}; pick a weight variant with dtype.` : 'This repository has no ONNX export of these graphs.',
    });
  }
  const wanted = [...MODEL_FILES.filter((f) => has.has(f)), ...graphFiles.flatMap((graph) => [graph, ...files.filter((f) => f.startsWith(`${graph}_data`))])];
  return repo.fetchFiles(wanted);
}
