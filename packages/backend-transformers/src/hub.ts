import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AutoModelForImageTextToText, AutoProcessor, env } from '@huggingface/transformers';
import { IcotError, ModelFilesError } from '@icot/core';

/** Where hub models come from. */
export interface HubSettings {
  /** transformers.js cache folder (default `env.cacheDir`). */
  readonly cacheDir?: string;
  readonly revision?: string;
  /** Never use the network. */
  readonly localFilesOnly?: boolean;
  /** transformers.js progress callback while downloading. */
  readonly onProgress?: (info: unknown) => void;
}

/** Whether `value` looks like a hub repository id (`owner/name`). */
export function isHubId(value: string): boolean {
  return /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(value) && !value.includes('..');
}

/**
 * The local folder of a model: `source` itself when it is a folder; for a hub id, its folder in
 * transformers.js's file cache, downloaded with transformers.js first when files are missing.
 */
export async function resolveHubFolder(source: string, graphs: readonly string[], settings: HubSettings & { readonly dtype: string; readonly device?: string }): Promise<string> {
  try {
    if ((await stat(source)).isDirectory()) return resolve(source);
  } catch {
    /* not a local path */
  }
  if (!isHubId(source))
    throw new ModelFilesError(`The model folder ${source} does not exist.`, {
      hint: 'Pass a local folder in the onnx-community layout or a hub id such as onnx-community/Qwen2-VL-2B-Instruct.',
    });
  const cacheDir = settings.cacheDir ?? env.cacheDir ?? './.cache';
  const dir = join(cacheDir, source, ...(settings.revision && settings.revision !== 'main' ? [settings.revision] : []));
  const needed = ['config.json', 'tokenizer.json', ...graphs];
  if (needed.every((f) => existsSync(join(dir, f)))) return dir;
  if (settings.localFilesOnly)
    throw new ModelFilesError(`${source} is not in the transformers.js cache (${dir}) and network use is off.`, {
      hint: 'Run once with network access to download it, or pass a local folder.',
    });
  const options = {
    cache_dir: cacheDir,
    dtype: settings.dtype,
    device: settings.device ?? 'cpu',
    ...(settings.revision ? { revision: settings.revision } : {}),
    ...(settings.onProgress ? { progress_callback: settings.onProgress } : {}),
  };
  try {
    // transformers.js downloads into its cache; the untapped model is released right away.
    await AutoProcessor.from_pretrained(source, options);
    const model = await AutoModelForImageTextToText.from_pretrained(source, options as never);
    await (model as unknown as { dispose(): Promise<unknown> }).dispose();
  } catch (error) {
    throw new IcotError('network', `Downloading ${source} with transformers.js failed: ${(error as Error).message}`, {
      hint: 'Check the model id, the network and HF_TOKEN for gated models.',
      cause: error,
    });
  }
  return dir;
}
