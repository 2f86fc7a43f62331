import { ImageError, type RgbImage } from '@icot/core';
import { decodeImage } from './decode.js';

/**
 * Reads a PNG or JPEG file from disk and decodes it with {@link decodeImage}. A missing or
 * unreadable file throws {@link ImageError} naming the path and the system's reason.
 * Node only: `node:fs/promises` is loaded on first use, so importing this package stays
 * browser-safe.
 */
export async function readImageFile(path: string): Promise<RgbImage> {
  const { readFile } = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : message;
    throw new ImageError(`Cannot read image ${path}: ${reason}.`, {
      hint: 'Check the path and that the file is readable.',
      cause: error,
    });
  }
  return decodeImage(bytes, { name: path });
}
