/**
 * Pixel preprocessing of each family, exactly as the Python reference processors compute
 * `pixel_values` (Pillow-exact resizes through `@icot/image`, float32 rescale and normalise): the
 * part of a family that touches pixels, kept apart from the pure family logic of
 * `@icot/families` so that code that only lays out prompts and positions never loads image code.
 * @module
 */
export { preprocessQwen2VlImage, readQwen2VlPreprocessorConfig, type Qwen2VlPixels, type Qwen2VlPreprocessorConfig } from './qwen2-vl/preprocess.js';
export { smartResize } from './qwen2-vl/smart-resize.js';
export { clipRegion, preprocessClipImage, readClipPreprocessorConfig, type ClipPixels, type ClipPreprocessorConfig } from './common/clip-preprocess.js';
export {
  IDEFICS3_MAX_IMAGE_SIZE,
  idefics3EncoderSize,
  idefics3ResizedSize,
  planIdefics3Image,
  preprocessIdefics3Image,
  readIdefics3PreprocessorConfig,
  type Idefics3ImagePlan,
  type Idefics3Pixels,
  type Idefics3PreprocessorConfig,
  type ImageSize,
} from './idefics3/preprocess.js';
