import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, realpath, stat, symlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ModelFilesError } from '@icot/core';
import { createScratchFolder, findTappedCopy, icotCacheDir, linkRealFile, storeTappedCopy, sweepScratchFolders, sweepTappedCopies, type ScratchFolder } from '@icot/hub';
import { prepareDecoder, type DecoderPreparation, type PreparedDecoder } from '@icot/onnx-decoding';

/** Bump when the tap's graph edits change, so older tapped copies are not reused. */
const TAP_FORMAT = 'icot-tap-4';

/** A model folder whose decoder graph carries attention taps, for transformers.js to load. */
export interface TappedMirror {
  /**
   * Folder to load: a scratch folder in icot's cache (the tapped graph and its weight files hard
   * linked, every other file symlinked to the model folder), or the model folder itself when
   * nothing was edited.
   */
  readonly dir: string;
  readonly decoder: PreparedDecoder;
  /** Whether the tapped graph came from icot's cache (made by an earlier load of the same content). */
  readonly reused: boolean;
  /** Delete the scratch folder; call it once transformers.js has loaded (its sessions hold what they need). */
  release(): Promise<void>;
}

/** Files under `dir` (following symlinks), as relative paths. */
async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(join(dir, prefix))) {
    const path = prefix ? join(prefix, name) : name;
    const info = await stat(join(dir, path)).catch(() => undefined);
    if (info?.isDirectory()) {
      if (!prefix && name === '.icot-tapped') continue; // copies made inside model folders by older versions
      out.push(...(await listFiles(dir, path)));
    } else if (info?.isFile()) out.push(path);
  }
  return out;
}

/**
 * What the decoder's bytes are, cheaply when possible: a file in a hub cache is named by its etag
 * (for LFS files the sha256 of its bytes, so a local copy of the same file gets the same id);
 * anything else is hashed.
 */
async function contentId(decoderPath: string, bytes: Uint8Array): Promise<string> {
  const real = await realpath(decoderPath);
  const blob = basename(real);
  if (basename(dirname(real)) === 'blobs' && basename(dirname(dirname(real))).startsWith('models--')) {
    if (/^[0-9a-f]{64}$/.test(blob)) return `sha256:${blob}`;
    if (/^[0-9a-f]{40}$/.test(blob)) return `git:${blob}`;
  }
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Prepare a model folder for transformers.js with attention taps in its decoder. The tapped graph
 * is kept in icot's cache (`<cache>/tapped/<key>`), keyed by the decoder's content, the tap
 * settings and the tap format, so every load of the same decoder - from any folder, temporary or
 * not - reuses it; copies unused for 14 days, and those of older versions, are swept. The folder
 * transformers.js loads is a scratch folder assembled for this load (hard links to the tapped
 * graph and to the decoder's weight files - onnxruntime refuses weight files whose real path is
 * outside the graph's folder - and symlinks to everything else), deleted by `release()`, so no
 * cached copy ever links to a model folder.
 */
export async function tappedMirror(folder: string, decoderFile: string, settings: DecoderPreparation & { readonly cacheDir?: string }): Promise<TappedMirror> {
  const source = resolve(folder);
  const decoderPath = join(source, decoderFile);
  const bytes = new Uint8Array(await readFile(decoderPath));
  const decoder = prepareDecoder(bytes, decoderFile, settings);
  if (!decoder.edited) return { dir: source, decoder, reused: true, release: async () => {} };
  const root = settings.cacheDir ?? icotCacheDir();
  await sweepTappedCopies(root);
  await sweepScratchFolders(root);
  const made = { source: decoderPath, contentId: await contentId(decoderPath, bytes), settings: [TAP_FORMAT, settings.attentionLayers ?? 'all', settings.tapAttention ?? true, settings.logits ?? 'last', ...(settings.fusedAttentionTap === 'recompute' ? ['recompute'] : [])] };
  const key = createHash('sha256').update(JSON.stringify([made.contentId, made.settings])).digest('hex').slice(0, 32);
  let graph = await findTappedCopy(key, root);
  const reused = graph !== undefined;
  let scratch: ScratchFolder | undefined;
  try {
    graph ??= await storeTappedCopy(key, decoder.bytes, made, root);
    scratch = await createScratchFolder(root);
    const weights = new Set([...decoder.info.externalDataFiles].map((f) => join(dirname(decoderFile), f)));
    for (const file of await listFiles(source)) {
      const target = join(scratch.dir, file);
      if (file === decoderFile) await linkRealFile(graph, target);
      else if (weights.has(file)) await linkRealFile(join(source, file), target);
      else {
        await mkdir(dirname(target), { recursive: true });
        await symlink(join(source, file), target);
      }
    }
  } catch (error) {
    await scratch?.remove();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EXDEV' || code === 'EPERM' || code === 'EACCES' || code === 'EROFS' || code === 'EMLINK')
      throw new ModelFilesError(`Cannot prepare the tapped copy of ${decoderPath} in icot's cache (${root}): ${(error as Error).message}`, {
        hint: "The decoder's weight files are hard-linked, so icot's cache must be a writable folder on the same file system as the model: set ICOT_CACHE_DIR (or tappedCacheDir) accordingly.",
        cause: error,
      });
    throw error;
  }
  const folderToLoad = scratch;
  return { dir: folderToLoad.dir, decoder, reused, release: () => folderToLoad.remove() };
}
