import { readFile, stat } from 'node:fs/promises';
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

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

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
 * For a hub id, `checkConfig` sees the repository's `config.json` (when it has one) before
 * anything else is looked for or downloaded, so an unsupported model is named as such rather than
 * by the graph files it lacks; it throws to refuse the model.
 */
export async function resolveHubFolder(
  source: string,
  graphFiles: readonly string[],
  settings: HubSettings = {},
  checkConfig?: (config: Record<string, unknown>, where: string) => void,
): Promise<string> {
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
  if (checkConfig && has.has('config.json')) {
    const config = parseJson(await readFile(await repo.fetchFile('config.json'), 'utf8'));
    if (config) checkConfig(config, source); // an unreadable config.json is named when the model is assembled
  }
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
