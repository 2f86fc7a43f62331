/**
 * Node entry of `@icot/model`: model files from a folder on disk.
 * @module
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ModelFilesError } from '@icot/core';
import type { FileSource } from './files.js';

/** The files of a model folder (`path` is resolved; messages name absolute paths). */
export function nodeFileSource(path: string): FileSource {
  const root = resolve(path);
  const at = (file: string): string => join(root, ...file.split('/'));
  const read = async <T>(file: string, how: (full: string) => Promise<T>): Promise<T> => {
    try {
      return await how(at(file));
    } catch (error) {
      throw new ModelFilesError(`Cannot read ${at(file)}: ${(error as Error).message}`, {
        ...((error as NodeJS.ErrnoException).code === 'ENOENT' ? { missing: [file] } : {}),
        cause: error,
      });
    }
  };
  return {
    location: path,
    describe: at,
    async exists(file) {
      try {
        await stat(at(file));
        return true;
      } catch {
        return false;
      }
    },
    readBytes: (file) => read(file, async (full) => new Uint8Array(await readFile(full))),
    readText: (file) => read(file, (full) => readFile(full, 'utf8')),
    list: async (folder) => readdir(at(folder)),
  };
}
