/**
 * Qwen2.5-VL: what differs from Qwen2-VL (vision encoder facts and its window reordering) and the
 * grounding boxes of both (to original-image pixels); prompt
 * layout, positions and preprocessing are the Qwen2-VL family's. Pure functions and data.
 * @module
 */
export { qwen25VlWindowIndex, readQwen25VlVisionConfig, type Qwen25VlVisionConfig, type Qwen25VlWindows } from './vision.js';
export {
  parseQwen25VlGrounding,
  parseQwen2VlGrounding,
  qwen25VlBoxToImage,
  qwen2VlBoxToImage,
  qwenResizedSize,
  type BoxCorners,
  type GroundedBox,
  type PixelSize,
} from './grounding.js';
