/**
 * Node entry of `@icot/tokenizer`: load a tokenizer from a model folder on disk.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelFilesError } from '@icot/core';
import { readTokenizer } from './read.js';
import type { HfTokenizer } from './tokenizer.js';

/** Load the tokenizer of a model folder (`tokenizer.json`, `tokenizer_config.json`, optional `chat_template.jinja`). */
export async function loadTokenizer(folder: string): Promise<HfTokenizer> {
  return readTokenizer(
    {
      async readText(name) {
        try {
          return await readFile(join(folder, name), 'utf8');
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw new ModelFilesError(`Cannot read ${join(folder, name)}: ${(error as Error).message}`, { cause: error });
        }
      },
    },
    folder,
  );
}
