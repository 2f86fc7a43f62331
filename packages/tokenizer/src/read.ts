import { ModelFilesError } from '@icot/core';
import { HfTokenizer } from './tokenizer.js';

/** Where the tokenizer files come from: `readText(name)` gives a file's text, or undefined when there is no such file. */
export interface TokenizerFileReader {
  readText(name: string): Promise<string | undefined>;
}

async function readJson(files: TokenizerFileReader, name: string, where: string): Promise<Record<string, unknown> | undefined> {
  const text = await files.readText(name);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new ModelFilesError(`${where}/${name} is not valid JSON: ${(error as Error).message}`, {
      hint: 'Download the file again; it may be truncated.',
      cause: error,
    });
  }
}

/**
 * Read a model's tokenizer (`tokenizer.json`, `tokenizer_config.json`, optional
 * `chat_template.jinja` / `chat_template.json`) from any file source; `where` names the folder
 * (or URL) in messages. Throws {@link ModelFilesError} for missing or unreadable files.
 */
export async function readTokenizer(files: TokenizerFileReader, where: string): Promise<HfTokenizer> {
  const [tokenizer, config] = await Promise.all([readJson(files, 'tokenizer.json', where), readJson(files, 'tokenizer_config.json', where)]);
  const missing = [!tokenizer && 'tokenizer.json', !config && 'tokenizer_config.json'].filter((x): x is string => !!x);
  if (missing.length)
    throw new ModelFilesError(`The model folder ${where} has no ${missing.join(' and ')}.`, {
      missing,
      hint: 'Use a complete onnx-community model folder (the tokenizer files sit next to config.json).',
    });
  let chatTemplate = await files.readText('chat_template.jinja');
  if (chatTemplate === undefined) {
    const json = await readJson(files, 'chat_template.json', where);
    chatTemplate = typeof json?.['chat_template'] === 'string' ? json['chat_template'] : undefined;
  }
  return new HfTokenizer({ tokenizer: tokenizer!, config: config!, ...(chatTemplate ? { chatTemplate } : {}) });
}
