import { ImageError, OptionError } from '@icot/core';
import type { ImageHeader } from './container.js';

/**
 * Default pixel limit: Pillow's `Image.MAX_IMAGE_PIXELS` (`int(1024 * 1024 * 1024 // 4 // 3)`,
 * 89,478,485 pixels, about 0.25 GiB of RGB). Pillow warns (`DecompressionBombWarning`) above it and
 * refuses (`DecompressionBombError`) above twice it; icot refuses above it, before decoding.
 */
export const DEFAULT_MAX_IMAGE_PIXELS = 89_478_485;

/** An image whose header declares more pixels than the limit (a decompression-bomb guard). */
export class ImageTooLargeError extends ImageError {
  constructor(
    readonly width: number,
    readonly height: number,
    /** The limit that was exceeded, in pixels. */
    readonly limit: number,
    name: string,
  ) {
    super(
      `Cannot decode ${name}: it is ${width}x${height} = ${(width * height).toLocaleString('en-US')} pixels, more than the limit of ` +
        `${limit.toLocaleString('en-US')} pixels that guards against decompression bombs.`,
      { hint: `If you trust the file, raise the limit: the maxPixels option, or --max-image-pixels ${width * height} on the command line.` },
    );
  }

  /** Pixels the header declares. */
  get pixels(): number {
    return this.width * this.height;
  }
}

/** Checks a `maxPixels` option: a positive integer, or `Infinity` for no limit. */
export function resolvePixelLimit(maxPixels: number | undefined): number {
  if (maxPixels === undefined) return DEFAULT_MAX_IMAGE_PIXELS;
  if (maxPixels === Number.POSITIVE_INFINITY || (Number.isSafeInteger(maxPixels) && maxPixels > 0)) return maxPixels;
  throw new OptionError(`maxPixels must be a positive integer or Infinity (got ${String(maxPixels)}).`, {
    hint: `Leave it out for the default of ${DEFAULT_MAX_IMAGE_PIXELS} pixels.`,
  });
}

/** Throws {@link ImageTooLargeError} when the header declares more than `limit` pixels. */
export function checkPixelLimit(header: ImageHeader, limit: number, name: string): void {
  if (header.width * header.height > limit) throw new ImageTooLargeError(header.width, header.height, limit, name);
}
