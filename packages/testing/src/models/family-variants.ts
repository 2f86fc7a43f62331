import { writeTinyQwen25Vl } from './qwen25vl-folder.js';
import { writeTinySmolVlm } from './smolvlm-folder.js';
import type { TinyModelVariant } from './vlm-folders.js';

/**
 * Tiny models of the Qwen2.5-VL and SmolVLM families: (e) a Qwen2.5-VL-style folder (window
 * attention in the vision encoder, `image_grid_thw`), (f) a SmolVLM-style folder (2 x 2 tiles +
 * global image for a 640x480 image, row/column separator tokens, 1-D positions). Both backends run
 * the model conformance suite on both families (SmolVLM with tiled images and no crops), in
 * `test/tiled-families*.test.ts` of `@icot/backend-onnx` and `@icot/backend-transformers`.
 */
export const TINY_FAMILY_VARIANTS: readonly TinyModelVariant[] = [
  { name: '(e) Qwen2.5-VL-style, window-attention vision encoder, plain Softmax attention', shape: 'softmax', write: writeTinyQwen25Vl, settings: { attention: 'softmax', layers: 2, heads: 4, kvHeads: 2, seed: 15 } },
  { name: '(f) SmolVLM-style, tiles + global image, GroupQueryAttention', shape: 'group-query-attention', write: writeTinySmolVlm, settings: { attention: 'group-query-attention', layers: 2, heads: 4, kvHeads: 2, seed: 16 } },
];
