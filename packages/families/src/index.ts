/**
 * Model-family logic shared by every backend: special tokens read from configs, prompt
 * expansion, position ids (M-RoPE), the block an ICoT insertion feeds, and image preprocessing.
 * @module
 */
export { gridPatchBox, regionPatchBox } from './grid.js';
export { createQwen2VlFamily, type Qwen2VlFamilySettings } from './qwen2-vl/family.js';
export { readQwen2VlConfig, QWEN2_VL_MODEL_TYPES, type Qwen2VlModelConfig } from './qwen2-vl/config.js';
export {
  preprocessQwen2VlImage,
  readQwen2VlPreprocessorConfig,
  smartResize,
  type Qwen2VlPixels,
  type Qwen2VlPreprocessorConfig,
} from './qwen2-vl/preprocess.js';
export { createSequentialFamily, type SequentialFamilySettings } from './common/sequential-family.js';
export { clipRegion, preprocessClipImage, readClipPreprocessorConfig, type ClipPixels, type ClipPreprocessorConfig } from './common/clip-preprocess.js';
export { createLlavaFamily } from './llava/family.js';
export { readLlavaConfig, LLAVA_MODEL_TYPES, type LlavaModelConfig } from './llava/config.js';
export { FeatureImage } from './feature-image.js';
export { preparePromptWithFamily, REGION_PATTERN } from './prompt.js';
export { llavaRope, qwen2VlRope } from './rope.js';
export { TokenImage } from './token-image.js';
export { chameleonRope, createChameleonFamily } from './chameleon/family.js';
export { CHAMELEON_MODEL_TYPES, readChameleonConfig, type ChameleonModelConfig } from './chameleon/config.js';
export * from './idefics3/index.js';
export * from './qwen2_5-vl/index.js';
export { describeModelFamily, familyKindOf, FAMILY_MODEL_TYPES, squarePatchGrid, type ModelFamilyDescription, type ModelFamilyKind } from './describe.js';
