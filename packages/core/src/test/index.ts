/**
 * Test doubles of every ICoT interface: a deterministic toy model (a real, tiny implementation of
 * the model spec, with every capability switchable: attention per layer, forks, batched side
 * runs, pixels, tiled images), and recording selector, decoder and trigger doubles.
 * @module
 */
export {
  createToyFamily,
  createToyModel,
  TOY_EOS_TOKEN,
  TOY_IMAGE_TOKEN,
  TOY_TILE_TOKEN,
  type ToyEncodedImage,
  type ToyModel,
  type ToyModelSettings,
} from './toy-model.js';
export { MockDecoder, MockSelector, MockTrigger } from './doubles.js';

/** A small RGB test image (gradient), `width x height`. */
export function createTestImage(width = 64, height = 64): { width: number; height: number; data: Uint8Array } {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = (x * 255) / Math.max(1, width - 1);
      data[o + 1] = (y * 255) / Math.max(1, height - 1);
      data[o + 2] = 128;
    }
  return { width, height, data };
}
