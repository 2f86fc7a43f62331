import { ModelFilesError } from '@icot/core';

/**
 * Where a model's files come from: a folder on disk (`@icot/model/node`), URLs (a browser), a
 * hub snapshot ... Paths are relative to the model's root and use `/` (`config.json`,
 * `onnx/decoder_model_merged_q4.onnx`).
 */
export interface FileSource {
  /** The model's root as users know it (a folder path or a URL), for messages and model ids. */
  readonly location: string;
  /** How `path` is named in messages (e.g. the absolute path). */
  describe(path: string): string;
  /** Whether the file exists. */
  exists(path: string): Promise<boolean>;
  /** The file's bytes; throws {@link ModelFilesError} when it cannot be read. */
  readBytes(path: string): Promise<Uint8Array>;
  /** The file's text (UTF-8); throws {@link ModelFilesError} when it cannot be read. */
  readText(path: string): Promise<string>;
  /** Names of the files in `folder`, where the source can list them (for "available variants" hints). */
  list?(folder: string): Promise<readonly string[]>;
}

/**
 * A JSON file of the model as an object: undefined when it does not exist and is not `required`;
 * throws {@link ModelFilesError} for a missing required file or invalid JSON.
 */
export async function readJsonFile(files: FileSource, path: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  if (!(await files.exists(path))) {
    if (!required) return undefined;
    throw new ModelFilesError(`${files.describe(path)} is missing.`, { missing: [path] });
  }
  const text = await files.readText(path);
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new ModelFilesError(`${files.describe(path)} is not valid JSON (${(error as Error).message}).`, { hint: 'The file may be truncated; download it again.', cause: error });
  }
}

/** `path` of a file next to `relativeTo` (both relative to the model root). */
export function siblingPath(relativeTo: string, path: string): string {
  const slash = relativeTo.lastIndexOf('/');
  return slash < 0 ? path : `${relativeTo.slice(0, slash + 1)}${path}`;
}
