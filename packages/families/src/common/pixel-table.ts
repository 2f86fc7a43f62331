/** Rescale and normalize settings shared by Hugging Face image processors. */
export interface PixelNormalization {
  readonly rescaleFactor: number;
  readonly imageMean: readonly [number, number, number];
  readonly imageStd: readonly [number, number, number];
  readonly doRescale: boolean;
  readonly doNormalize: boolean;
}

/**
 * The processed value of every byte value per channel (`table[channel * 256 + byte]`), computed as
 * Hugging Face's processors do: rescale in float64 then cast to float32, normalize in float32.
 */
export function pixelTable(config: PixelNormalization): Float32Array {
  const table = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(config.imageMean[c]!);
    const std = Math.fround(config.imageStd[c]!);
    for (let v = 0; v < 256; v++) {
      let x = config.doRescale ? Math.fround(v * config.rescaleFactor) : v;
      if (config.doNormalize) x = Math.fround(Math.fround(x - mean) / std);
      table[c * 256 + v] = x;
    }
  }
  return table;
}
