import { createHash } from 'node:crypto';
import { access, constants, link, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { ModelFilesError } from '@icot/core';
import { prepareDecoder, type DecoderPreparation, type PreparedDecoder } from '@icot/onnx-decoding';

/** Bump when the graph edits change (taps, last-position logits), so older copies are not reused. */
const TAP_FORMAT = 'icot-tap-4';

/** Default folder for tapped model copies. */
export function defaultTappedCacheDir(): string {
  const env = process.env;
  return join(env['ICOT_CACHE_DIR'] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'icot'), 'tapped');
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path, base)));
    else out.push(relative(base, path));
  }
  return out;
}

/** A model folder whose decoder graph carries attention taps, for transformers.js to load. */
export interface TappedMirror {
  /** Folder to load: the tapped copy, or the original folder when nothing was edited. */
  readonly dir: string;
  readonly decoder: PreparedDecoder;
  /** Whether the copy already existed. */
  readonly reused: boolean;
}

/**
 * Make (once) a copy of a model folder in which `decoderFile` is replaced by its tapped graph and
 * every other file is a link to the original: symbolic links, except the decoder's external weight
 * files, which are hard links (onnxruntime refuses weight files that resolve outside the model's
 * folder), so no weights are ever copied. The copy lives in the tapped-model cache, or inside the
 * model folder (`.icot-tapped/`) when the cache is on another file system. It is keyed by the
 * decoder file's path, size, modification time and the tap settings, and written atomically.
 */
export async function tappedMirror(folder: string, decoderFile: string, settings: DecoderPreparation & { readonly cacheDir?: string }): Promise<TappedMirror> {
  const source = resolve(folder);
  const decoderPath = join(source, decoderFile);
  const info = await stat(decoderPath);
  const bytes = new Uint8Array(await readFile(decoderPath));
  const decoder = prepareDecoder(bytes, decoderFile, settings);
  if (!decoder.edited) return { dir: source, decoder, reused: true };
  const key = createHash('sha256')
    .update(JSON.stringify([TAP_FORMAT, decoderPath, info.size, info.mtimeMs, settings.attentionLayers ?? 'all', settings.tapAttention ?? true, settings.logits ?? 'last']))
    .digest('hex')
    .slice(0, 24);
  const weightFiles = new Set([...decoder.info.externalDataFiles].map((f) => join(dirname(decoderFile), f)));
  const roots = [settings.cacheDir ?? defaultTappedCacheDir()];
  if (weightFiles.size) roots.push(join(source, '.icot-tapped'));
  let lastError: unknown;
  for (const root of roots) {
    const dir = join(root, key);
    try {
      if ((await stat(join(dir, decoderFile))).isFile()) return { dir, decoder, reused: true };
    } catch {
      /* not built yet */
    }
    try {
      await build(source, dir, decoderFile, decoder.bytes, weightFiles);
      return { dir, decoder, reused: false };
    } catch (error) {
      lastError = error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EXDEV' && code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw error;
    }
  }
  throw new ModelFilesError(`Cannot prepare the tapped copy of ${decoderPath}: ${(lastError as Error).message}`, {
    hint: 'Set the tapped-model cache (tappedCacheDir or ICOT_CACHE_DIR) to a writable folder on the same file system as the model.',
    cause: lastError,
  });
}

async function build(source: string, dir: string, decoderFile: string, decoderBytes: Uint8Array, weightFiles: ReadonlySet<string>): Promise<void> {
  const partial = `${dir}.${process.pid}.partial`;
  await rm(partial, { recursive: true, force: true });
  try {
    for (const file of await listFiles(source)) {
      if (file.startsWith('.icot-tapped')) continue;
      const target = join(partial, file);
      await mkdir(dirname(target), { recursive: true });
      if (file === decoderFile) await writeFile(target, decoderBytes);
      else if (weightFiles.has(file)) await link(join(source, file), target);
      else await symlink(join(source, file), target);
    }
    await mkdir(dirname(dir), { recursive: true });
    await access(dirname(dir), constants.W_OK);
    try {
      await rename(partial, dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error; // another process built the same copy first
    }
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
}
