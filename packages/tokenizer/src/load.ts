import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelFilesError } from '@icot/core';
import { HfTokenizer } from './tokenizer.js';

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelFilesError(`Cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new ModelFilesError(`${path} is not valid JSON: ${(error as Error).message}`, {
      hint: 'Download the file again; it may be truncated.',
      cause: error,
    });
  }
}

/** Load the tokenizer of a model folder (`tokenizer.json`, `tokenizer_config.json`, optional `chat_template.jinja`). */
export async function loadTokenizer(folder: string): Promise<HfTokenizer> {
  const [tokenizer, config] = await Promise.all([readJson(join(folder, 'tokenizer.json')), readJson(join(folder, 'tokenizer_config.json'))]);
  const missing = [!tokenizer && 'tokenizer.json', !config && 'tokenizer_config.json'].filter((x): x is string => !!x);
  if (missing.length)
    throw new ModelFilesError(`The model folder ${folder} has no ${missing.join(' and ')}.`, {
      missing,
      hint: 'Use a complete onnx-community model folder (the tokenizer files sit next to config.json).',
    });
  let chatTemplate: string | undefined;
  try {
    chatTemplate = await readFile(join(folder, 'chat_template.jinja'), 'utf8');
  } catch {
    const json = await readJson(join(folder, 'chat_template.json'));
    chatTemplate = typeof json?.['chat_template'] === 'string' ? json['chat_template'] : undefined;
  }
  return new HfTokenizer({ tokenizer: tokenizer!, config: config!, ...(chatTemplate ? { chatTemplate } : {}) });
}
