/**
 * Model-family logic shared by every backend, pure (no pixels, no sessions, no files): special
 * tokens read from configs, prompt expansion with each image's patch map, position ids (M-RoPE),
 * the block an ICoT insertion feeds, the region syntax, and the encoded-image holders. Pixel
 * preprocessing is the separate entry point `@icot/families/preprocess`.
 * @module
 */
export { gridPatchBox, regionPatchBox } from './grid.js';
export { createQwen2VlFamily, type Qwen2VlFamilySettings } from './qwen2-vl/family.js';
export { readQwen2VlConfig, QWEN2_VL_MODEL_TYPES, type Qwen2VlModelConfig } from './qwen2-vl/config.js';
export { createSequentialFamily, type SequentialFamilySettings } from './common/sequential-family.js';
export { createLlavaFamily } from './llava/family.js';
export { readLlavaConfig, LLAVA_MODEL_TYPES, type LlavaModelConfig } from './llava/config.js';
export { FeatureImage } from './feature-image.js';
export { TiledFeatureImage } from './tiled-feature-image.js';
export { preparePromptWithFamily, REGION_PATTERN } from './prompt.js';
export { llavaRope, qwen2VlRope } from './rope.js';
export { TokenImage } from './token-image.js';
export { chameleonRope, createChameleonFamily } from './chameleon/family.js';
export { CHAMELEON_MODEL_TYPES, readChameleonConfig, type ChameleonModelConfig } from './chameleon/config.js';
export * from './idefics3/index.js';
export * from './qwen2_5-vl/index.js';
export { describeChameleon, describeIdefics3, describeLlava, describeQwen2Vl, readContextLength, squarePatchGrid, type DescribeContext, type DescribeFamily, type ModelFamilyDescription } from './describe.js';
